/**
 * What the `keyward` command prints when it fails, and its exit code (see
 * EXIT in errors.ts). An API refusal shows the service's code, message and
 * hint, with the hint in CLI terms where the service's names an HTTP call
 * (`keyward roles list`, not `GET /v1/roles`), and its validation details
 * field by field with the flag or argument of the command that sets each.
 * Loaded only on failure.
 */
import { CommanderError, type Command } from 'commander';
import { KeywardApiError, KeywardUnreachableError } from '../client/index.ts';
import type { ErrorCode } from '../core/errors.ts';
import { KeywardError } from '../core/errors.ts';
import { SettingsError } from '../core/settings.ts';
import { CliError, CliUsageError, EXIT } from './errors.ts';
import { errorColours } from './output.ts';

/** Hints for the command line, where the service's hint names an HTTP call or a body field. */
export const CLI_HINTS: Partial<Record<ErrorCode, string>> = {
  UNKNOWN_ROLE: 'List the roles with `keyward roles list` and use one of their ids.',
  ROLE_NOT_FOUND: 'List the roles with `keyward roles list`.',
  UNKNOWN_PERMISSION: 'List the permissions with `keyward permissions list`, or define your own with `keyward permissions create`.',
  SELF_LOCKOUT: 'Add your own address (or its range) to the list, or pass --force if you really mean to lock this address out.',
  VALIDATION_FAILED: 'Fix the values listed above and run the command again.',
  IMMUTABLE_FIELD: 'Only the name, role, IP allowlist and metadata of a key can change (`keyward keys update`). To get a new secret, rotate it: `keyward keys rotate`.',
  KEY_HAS_WHITESPACE: 'Remove the whitespace picked up when copying the key (check --api-key, KEYWARD_API_KEY or the context: `keyward config get-contexts`).',
  MISSING_AUTHORIZATION: 'Give the CLI a key: `keyward login`, KEYWARD_API_KEY or --api-key.',
  UNKNOWN_KEY: 'No key with this secret exists at this URL: check the context (`keyward config get-contexts`) or --url.',
  ROUTE_NOT_FOUND: 'Check the service URL (--url, KEYWARD_URL or the context): it must be the key service, not a path under it.',
  KEY_LIMIT_REACHED: 'Revoke unused keys (`keyward keys list --unused-for 30d`, then `keyward keys revoke`) or ask whoever runs the service to change the plan.',
  LAST_ADMIN_KEY: 'Create another admin key first (`keyward keys create --role admin`), then revoke or change this one.',
  ROLE_IN_USE:
    'Move the keys holding this role (`keyward keys list --role <id>`, then `keyward keys update --role`) or revoke them, move its members (`keyward members update --role`) and revoke the pending invitations that give it (`keyward members invitations revoke`), then delete the role.',
  INVITATION_REQUIRED: 'Invite the person instead (`keyward members invite --email … --role …`), or set an identity provider first (`keyward org oidc set`).',
  OIDC_NOT_CONFIGURED: 'Set one with `keyward org oidc set --issuer … --client-id … --allowed-domain …`.',
  BUILTIN_ROLE: 'Built-in roles cannot change; create a custom role instead: `keyward roles create`.',
  KEY_NOT_ACTIVE: 'Only active keys can be rotated or edited: rotate or edit its successor (`keyward keys describe` names it).',
  IP_NOT_ALLOWED: 'Add the address to the organization\'s list (`keyward allowlist add <cidr>`) or to the key\'s own (`keyward keys update <keyId> --ip-allowlist …`), or call from an allowed network.',
  INCIDENT_NOT_FOUND: 'List the incidents with `keyward incidents list`.',
  MEMBER_NOT_FOUND: 'List the members with `keyward members list`.',
  KEY_ALREADY_ROTATED: 'Rotate its successor instead (`keyward keys describe` names it).',
};

/** The flag that sets a body or query field, where it differs from the field's kebab-case name. */
const FLAG_OF: Record<string, string> = { keyId: '--key', actorKeyId: '--actor', targetId: '--target' };

/** What the command line calls the parts of what the user typed, for naming the one a field came from. */
export interface CommandShape {
  flags: readonly string[];
  args: readonly string[];
}

export const shapeOf = (command: Command): CommandShape => ({ flags: command.options.map((o) => o.long ?? ''), args: command.registeredArguments.map((a) => a.name()) });

/**
 * Where the command that failed took a field from: its flag (`--expires-at`),
 * or its argument (`<roleId>` for a role's id). Null when it has neither
 * (stdin, a prompt, or a field the CLI fills in itself), so no flag the
 * command lacks is ever named.
 */
function sourceOf(field: string, shape: CommandShape): string | null {
  const flag = FLAG_OF[field] ?? `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
  if (shape.flags.includes(flag)) return flag;
  const arg = shape.args.find((name) => name === field || (field === 'id' && name.endsWith('Id')));
  return arg ? `<${arg}>` : null;
}

function detailLines(details: unknown, shape: CommandShape): string[] {
  if (!Array.isArray(details)) return [];
  return details
    .filter((d): d is { path: string; message: string } => typeof d?.path === 'string' && typeof d?.message === 'string')
    .map((d) => {
      const source = sourceOf(d.path.split('.')[0]!, shape);
      return `  - ${d.path}${source ? ` (${source})` : ''}: ${d.message}`;
    });
}

export interface Failure {
  text: string;
  exitCode: number;
}

/** What to print for an error, and the exit code; `command` is the one whose action ran (for the flags it has). */
export function describeFailure(error: unknown, command?: CommandShape): Failure {
  const red = errorColours.red;
  const head = (message: string) => `${red('error:')} ${message}`;
  if (error instanceof CommanderError) return { text: '', exitCode: error.exitCode === 0 ? EXIT.OK : EXIT.USAGE };
  if (error instanceof CliUsageError || error instanceof SettingsError) return { text: head(error.message), exitCode: EXIT.USAGE };
  if (error instanceof KeywardApiError || error instanceof KeywardError) {
    const hint = CLI_HINTS[error.code as ErrorCode] ?? error.hint;
    const lines = [head(`${error.message} (${error.code})`), ...(error.code === 'VALIDATION_FAILED' ? detailLines(error.details, command ?? { flags: [], args: [] }) : []), `hint: ${hint}`];
    return { text: lines.join('\n'), exitCode: EXIT.FAILED };
  }
  if (error instanceof CliError) return { text: [head(error.message), ...(error.hint ? [`hint: ${error.hint}`] : [])].join('\n'), exitCode: EXIT.FAILED };
  if (error instanceof KeywardUnreachableError) return { text: head(error.message), exitCode: EXIT.FAILED };
  return { text: head(error instanceof Error ? error.message : String(error)), exitCode: EXIT.FAILED };
}
