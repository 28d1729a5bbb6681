/**
 * The `keyward` commands, declared once: name, one-line summary, help group
 * and how to load the module that builds it. main.ts loads only the module
 * of the command being run (a `keyward keys list` never loads the server,
 * the operator or the CDKTF code), and lists the others from their summaries
 * alone; `keyward completion` loads them all to walk the whole tree.
 *
 * Adding a command: a module exporting a function that returns its commander
 * Command (flags, help, an "Examples:" section, the action), and an entry
 * here (the module takes its description from `summaryOf`).
 * test/cli/structure.test.ts checks that every command has examples.
 */
import type { Command } from 'commander';

export const GROUPS = {
  api: 'Key service commands (over the API; --url, --api-key, --context):',
  connect: 'Connection:',
  operate: 'Running keyward (on the store or the cluster directly):',
  gitops: 'GitOps:',
  other: 'Other:',
} as const;

export interface CommandEntry {
  name: string;
  summary: string;
  group: keyof typeof GROUPS;
  load: () => Promise<() => Command>;
}

export const COMMANDS: readonly CommandEntry[] = [
  { name: 'keys', summary: 'create, list, describe, update, rotate, revoke and report compromised API keys', group: 'api', load: async () => (await import('./keys.ts')).keysCommand },
  { name: 'verify', summary: 'check a key presented to your API; the exit code says whether it is valid', group: 'api', load: async () => (await import('./verify.ts')).verifyCommand },
  { name: 'roles', summary: 'list, describe, create, update and delete roles', group: 'api', load: async () => (await import('./roles.ts')).rolesCommand },
  { name: 'permissions', summary: "the permission catalog: keyward's own and your APIs'", group: 'api', load: async () => (await import('./permissions.ts')).permissionsCommand },
  { name: 'allowlist', summary: "the organization's IP allowlist: get, set, add, remove", group: 'api', load: async () => (await import('./allowlist.ts')).allowlistCommand },
  { name: 'usage', summary: 'requests per key, day and outcome', group: 'api', load: async () => (await import('./usage.ts')).usageCommand },
  { name: 'audit', summary: 'the audit log: list with filters, or export as JSON lines', group: 'api', load: async () => (await import('./audit.ts')).auditCommand },
  { name: 'incidents', summary: "compromise and leak reports: list, get, and describe with the investigation (the key's uses by address, its audit trail)", group: 'api', load: async () => (await import('./incidents.ts')).incidentsCommand },
  { name: 'events', summary: 'the change feed of keys (created, edited, rotated, revoked, compromised): after a cursor, or --watch', group: 'api', load: async () => (await import('./events.ts')).eventsCommand },
  { name: 'org', summary: "the organization: get and update, its identity provider (oidc get|set|remove) over the API; the service operator's plan settings in the store", group: 'api', load: async () => (await import('./org.ts')).orgCommand },
  { name: 'members', summary: 'the people of the organization (they sign in to the dashboard): list, get, invite, add (with an identity provider), update, remove; invitations', group: 'api', load: async () => (await import('./members.ts')).membersCommand },
  { name: 'whoami', summary: 'the key this CLI calls with, its organization and permissions', group: 'api', load: async () => (await import('./whoami.ts')).whoamiCommand },
  { name: 'login', summary: 'save a key service URL and key as a named context (the key from a prompt or stdin)', group: 'connect', load: async () => (await import('./login.ts')).loginCommand },
  { name: 'config', summary: 'contexts of the config file: get-contexts, use-context, current-context, delete-context', group: 'connect', load: async () => (await import('./config.ts')).configCommand },
  { name: 'serve', summary: 'run the key service (creates an organization and admin key on an empty store)', group: 'operate', load: async () => (await import('./serve.ts')).serveCommand },
  { name: 'bootstrap', summary: 'create an organization and its admin key directly in the store; prints the secret once', group: 'operate', load: async () => (await import('./serve.ts')).bootstrapCommand },
  { name: 'migrate', summary: 'apply pending PostgreSQL schema migrations; or copy a lowdb store into PostgreSQL with --from/--to', group: 'operate', load: async () => (await import('./migrate.ts')).migrateCommand },
  { name: 'operator', summary: 'run the Kubernetes operator: ApiKey resources become keys and Secrets, rotated without downtime', group: 'operate', load: async () => (await import('./operator.ts')).operatorCommand },
  { name: 'dev', summary: 'local development helpers (a real Kubernetes control plane)', group: 'operate', load: async () => (await import('./dev-cluster.ts')).devCommand },
  { name: 'rotate', summary: 'bump spec.rotation.token of ApiKey manifests (and keyward-rotation.json entries) in place, so applying them rotates each key once', group: 'gitops', load: async () => (await import('./rotate.ts')).rotateCommand },
  { name: 'rotation', summary: 'GitOps rotation: find keys due for rotation and prepare the pull request', group: 'gitops', load: async () => (await import('./rotate.ts')).rotationCommand },
  { name: 'synth-manifests', summary: 'the ApiKey resources of a CDKTF app as plain YAML (no Terraform)', group: 'gitops', load: async () => (await import('./synth-manifests.ts')).synthManifestsCommand },
  { name: 'completion', summary: 'print a shell completion script: keyward completion bash|zsh', group: 'other', load: async () => (await import('./completion.ts')).completionCommand },
];

/** A command's one-line summary, from its entry: the module building the command takes its description from here. */
export function summaryOf(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command "${name}" in src/cli/commands.ts`);
  return entry.summary;
}

/** Adds an "Examples:" section to a command's help (every command has one). */
export function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText('after', `\nExamples:\n${lines.map((line) => `  $ ${line}`).join('\n')}\n`);
}
