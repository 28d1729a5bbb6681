/**
 * `keyward rotate …` and `keyward rotation due …`: GitOps rotation. Edits
 * ApiKey manifests (and CDKTF rotation-token files) in place, so a pull
 * request that bumps a rotation token rotates exactly that key once.
 */
import { Command, Option } from 'commander';
import { API_GROUP, API_PLURAL, API_VERSION } from '../core/apikey.ts';
import type { KeyView } from '../client/index.ts';
import { DEFAULT_ROTATION_DAYS, ENVIRONMENTS } from '../core/rotation.ts';
import { clientFor } from './client.ts';
import { assessDue, observeAnnotation, observeClusterStatus, observeServiceKeys, type AgeSource, type DueReport, type Observation } from '../gitops/due.ts';
import { collectFiles, writeFiles } from '../gitops/files.ts';
import { GitopsError, keyLabel, parseManifestFiles, type ApiKeyDocument } from '../gitops/manifests.ts';
import { renderPullRequestBody } from '../gitops/pr-body.ts';
import { checkRequest, planRotation, type RotationPlan } from '../gitops/rotate.ts';
import { parseSelector, SelectorSyntaxError, selects, type Selection } from '../gitops/selector.ts';
import { summaryOf } from './commands.ts';
import { CliUsageError, EXIT } from './errors.ts';
import { printJson } from './output.ts';

/** `rotation due` exit codes (besides 1 error and 2 usage). */
export const EXIT_NOTHING_DUE = EXIT.OK;
export const EXIT_DUE = EXIT.DUE;
export const EXIT_DUE_BUMPED = EXIT.DUE_BUMPED;

const collect = (value: string, previous: string[]) => [...previous, value];

function selectionFrom(o: { selector: string[]; namespace?: string }): Selection {
  try {
    return { selectors: o.selector.map(parseSelector), namespace: o.namespace };
  } catch (error) {
    if (error instanceof SelectorSyntaxError) throw new CliUsageError(error.message);
    throw error;
  }
}

const selectorOption = () =>
  new Option('-l, --selector <selector>', 'only keys matching name=…, namespace=… or label=value terms (comma: and; repeat the flag: or)').argParser(collect).default([]);
const namespaceOption = () => new Option('-n, --namespace <namespace>', 'only keys in this namespace');

function printPlanText(plan: RotationPlan, written: boolean): void {
  const out: string[] = [];
  for (const c of plan.changes) {
    const place = c.document ? `${c.file}#${c.document}` : c.file;
    const who = c.namespace ? `${c.namespace}/${c.name}` : c.name;
    out.push(`${written ? 'rotated' : 'would rotate'} ${who} (${place}): token ${c.previousToken === null ? '(none)' : JSON.stringify(c.previousToken)} -> ${JSON.stringify(c.token)}`);
    if (c.immediate) {
      out.push(`  IMMEDIATE REVOCATION: overlap 0, the old key of ${who} stops working as soon as the operator rotates it; consumers holding it fail until they read the new Secret.`);
    } else if (c.overlap) out.push(`  the old key keeps working for ${c.overlap} after the rotation`);
  }
  for (const warning of plan.warnings) out.push(`warning: ${warning}`);
  if (!written) out.push('(dry run: no file written)');
  else out.push(`${plan.edits.size} file(s) changed; commit them in a pull request to rotate.`);
  process.stdout.write(`${out.join('\n')}\n`);
}

export function rotateCommand(): Command {
  return new Command('rotate')
    .description(summaryOf('rotate'))
    .argument('<paths...>', 'manifest files or directories (*.yaml, *.yml, keyward-rotation.json|yaml)')
    .addOption(selectorOption())
    .addOption(namespaceOption())
    .option('--token <value>', 'the new rotation token (default: today plus a counter, e.g. 2026-11-27-1)')
    .option('--now', 'compromised key: also set spec.rotation.overlap to "0", revoking the old key as soon as the operator rotates')
    .option('--overlap <duration>', 'also set spec.rotation.overlap, e.g. 1h')
    .option('--dry-run', 'print what would change; write nothing')
    .addOption(new Option('-o, --output <format>', 'output format (markdown: a pull-request body)').choices(['text', 'json', 'markdown']).default('text'))
    .addHelpText(
      'after',
      `
Every file is edited in place: comments, key order, quoting and other documents
stay byte for byte; only the token (and overlap) scalar and the
keyward.dev/rotated-at annotation change. If any file does not parse, holds an
invalid ApiKey, or the selector matches nothing, no file is written.

Exit codes: 0 rotated, 1 error (nothing written), 2 usage error.

Examples:
  $ keyward rotate examples/gitops/deploy/keys --dry-run
  $ keyward rotate examples/gitops/deploy/keys -l name=payments-api --now -o markdown`,
    )
    .action((paths: string[], o: { selector: string[]; namespace?: string; token?: string; now?: boolean; overlap?: string; dryRun?: boolean; output: 'text' | 'json' | 'markdown' }) => {
      const selection = selectionFrom(o);
      const now = new Date();
      const flagProblems = checkRequest({ selection, token: o.token, immediate: o.now === true, overlap: o.overlap, now });
      if (flagProblems.length > 0) throw new CliUsageError(flagProblems.join('; '));
      const files = collectFiles(paths);
      const plan = planRotation(files, { selection, token: o.token, immediate: o.now === true, overlap: o.overlap, now });
      if (!o.dryRun) writeFiles(plan.edits);
      const written = !o.dryRun;
      if (o.output === 'json') return printJson({ written, files: [...plan.edits.keys()], changes: plan.changes, warnings: plan.warnings });
      if (o.output === 'markdown') {
        process.stdout.write(renderPullRequestBody({ now, changes: plan.changes, bumped: true, warnings: plan.warnings, command: `keyward rotate${o.now ? ' --now' : ''}` }));
        return;
      }
      printPlanText(plan, written);
    });
}

// ---- rotation due ----

async function observeCluster(keys: ApiKeyDocument[]): Promise<Map<ApiKeyDocument, Observation>> {
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const api = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const out = new Map<ApiKeyDocument, Observation>();
  for (const key of keys) {
    let resource: { status?: { lastRotationTime?: string; keyId?: string } } | undefined;
    try {
      resource = (await api.getNamespacedCustomObject({ group: API_GROUP, version: API_VERSION, namespace: key.namespace, plural: API_PLURAL, name: key.name })) as typeof resource;
    } catch (error) {
      if ((error as { code?: number }).code !== 404) {
        throw new Error(`cannot read ApiKey ${keyLabel(key)} from the cluster (${kubeConfig.getCurrentCluster()?.server ?? 'no cluster in the kubeconfig'}): ${(error as Error).message.split('\n')[0]}`);
      }
      resource = undefined;
    }
    out.set(key, observeClusterStatus(resource));
  }
  return out;
}

async function observeService(keys: ApiKeyDocument[], url: string): Promise<Map<ApiKeyDocument, Observation>> {
  const client = await clientFor({ url }, ['listKeys']);
  const serviceKeys: KeyView[] = [];
  for await (const key of client.allKeys({ status: 'active' })) serviceKeys.push(key);
  return new Map(keys.map((key) => [key, observeServiceKeys(key, serviceKeys)]));
}

async function defaultNamespaceFromKubeconfig(): Promise<string> {
  const k8s = await import('@kubernetes/client-node');
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromDefault();
  const context = kubeConfig.getContextObject(kubeConfig.getCurrentContext());
  return context?.namespace || 'default';
}

export function rotationCommand(): Command {
  const rotation = new Command('rotation').description(summaryOf('rotation'));

  rotation
    .command('due')
    .description('list ApiKeys (from manifests) whose rotation is due, optionally bump them, and print a pull-request body')
    .argument('<paths...>', 'manifest files or directories')
    .option('--cluster', 'age from the live cluster: status.lastRotationTime (KUBECONFIG)')
    .option('--service <url>', 'age from the key service: createdAt of the active key whose metadata names the ApiKey (needs KEYWARD_API_KEY)')
    .option('--bump', 'bump the rotation token of every due key, in place (like keyward rotate)')
    .addOption(selectorOption())
    .addOption(namespaceOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['markdown', 'json']).default('markdown'))
    .addHelpText(
      'after',
      `
Policy: spec.rotation.interval, else the environment default (${ENVIRONMENTS.map((env) => `${env} ${DEFAULT_ROTATION_DAYS[env]}d`).join(', ')}).
Age, by default, from the keyward.dev/rotated-at
annotation that keyward rotate maintains (a key without it counts as due);
with --cluster from status.lastRotationTime; with --service from the key service.

Exit codes:
  0  nothing is due
  3  keys are due (not bumped)
  4  keys were due and their manifests were bumped
  1  error (no file written)
  2  usage error

Examples:
  $ keyward rotation due examples/gitops/deploy/keys
  $ keyward rotation due examples/gitops/deploy/keys --cluster --bump -o json`,
    )
    .action(async (paths: string[], o: { cluster?: boolean; service?: string; bump?: boolean; selector: string[]; namespace?: string; output: 'markdown' | 'json' }) => {
      if (o.cluster && o.service) throw new CliUsageError('choose one of --cluster and --service');
      const selection = selectionFrom(o);
      const now = new Date();
      const files = collectFiles(paths);
      const defaultNamespace = o.cluster ? await defaultNamespaceFromKubeconfig() : 'default';
      const keys = parseManifestFiles(files, defaultNamespace).filter((key) => selects(selection, { name: key.name, namespace: key.namespace, labels: key.labels }));
      if (keys.length === 0) throw new GitopsError([`no ApiKey manifests${selection.selectors.length || selection.namespace ? ' match the selector' : ''} in ${paths.join(', ')}`]);
      const source: AgeSource = o.cluster ? 'cluster' : o.service ? 'service' : 'annotation';
      const observations =
        source === 'cluster' ? await observeCluster(keys) : source === 'service' ? await observeService(keys, o.service!) : new Map(keys.map((key) => [key, observeAnnotation(key)]));
      const report: DueReport = assessDue(keys, observations, source, now);

      let plan: RotationPlan | undefined;
      if (o.bump && report.due.length > 0) {
        const due = new Set(report.due.map((v) => v.key));
        // Parsed again inside planRotation; match by place.
        const places = new Set([...due].map((k) => `${k.file}#${k.index}`));
        plan = planRotation(files, { selection: { selectors: [] }, only: (key) => places.has(`${key.file}#${key.index}`), now });
        writeFiles(plan.edits);
      }
      const bumped = plan !== undefined;
      const command = `keyward rotation due${o.cluster ? ' --cluster' : o.service ? ' --service' : ''}${o.bump ? ' --bump' : ''}`;
      if (o.output === 'json') {
        const view = (v: DueReport['due'][number]) => ({
          namespace: v.key.namespace,
          name: v.key.name,
          file: v.key.file,
          document: v.key.index + 1,
          state: v.state,
          reason: v.reason,
          lastRotation: v.lastRotation,
          ageMs: v.ageMs,
          intervalMs: v.intervalMs,
          dueAt: v.dueAt,
          keyId: v.keyId,
          serviceRotationDueAt: v.serviceRotationDueAt,
        });
        printJson({
          now: report.now,
          source,
          due: report.due.map(view),
          current: report.current.map(view),
          unknown: report.unknown.map(view),
          bumped,
          files: plan ? [...plan.edits.keys()] : [],
          changes: plan?.changes ?? [],
        });
      } else {
        process.stdout.write(renderPullRequestBody({ now, changes: plan?.changes ?? [], bumped, report, warnings: plan?.warnings ?? [], command }));
      }
      process.exitCode = report.due.length === 0 ? EXIT_NOTHING_DUE : bumped ? EXIT_DUE_BUMPED : EXIT_DUE;
    });

  return rotation;
}
