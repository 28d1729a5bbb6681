/**
 * The pull-request body a rotation PR carries: which keys, why, what will
 * happen when it is merged and applied, and how (far) it can be rolled back.
 * Pure: a plan and/or a due report in, markdown out.
 */
import { formatDuration } from '../core/duration.ts';
import { humanAge, type DueReport, type DueVerdict } from './due.ts';
import type { RotationChange } from './rotate.ts';

export interface PullRequestBodyInput {
  now: Date;
  /** Edits made (bumped) or proposed. */
  changes: RotationChange[];
  /** Whether the manifests were edited (else the body only reports). */
  bumped: boolean;
  /** From `rotation due`; absent for `keyward rotate`. */
  report?: DueReport | undefined;
  warnings?: string[];
  /** The command that produced the body, for the footer. */
  command: string;
}

const code = (text: string) => `\`${text.replaceAll('`', "'")}\``;
const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function keyOf(change: RotationChange): string {
  return change.namespace ? `${change.namespace}/${change.name}` : change.name;
}

function why(change: RotationChange, report: DueReport | undefined): string {
  const verdict = report?.due.find((v) => v.key.file === change.file && v.key.index + 1 === change.document);
  if (verdict) return verdict.reason;
  if (change.immediate) return '**compromised key**: immediate rotation requested (`keyward rotate --now`)';
  return 'rotation requested with `keyward rotate`';
}

function whatHappens(change: RotationChange): string[] {
  const lines: string[] = [];
  const token = `${change.previousToken === null ? '(none)' : code(change.previousToken)} → ${code(change.token)}`;
  if (change.target === 'tokens-file') {
    lines.push(
      `- ${code(keyOf(change))} (${code(change.file)}): rotation token ${token}. The next \`cdktf deploy\` passes the new token to the key, which rotates it once; the overlap is the one set in the stack.`,
    );
    return lines;
  }
  lines.push(`- ${code(keyOf(change))} (${code(`${change.file}#${change.document}`)}): rotation token ${token}.`);
  lines.push(`  - The operator sees the new token and issues exactly one new key, with the same role and settings, into Secret ${code(change.secretName ?? change.name)}.`);
  if (change.immediate) {
    lines.push(
      '  - **Immediate revocation** (overlap 0): the previous key stops working the moment the new one is issued. Consumers still holding it fail until they read the new Secret.',
      `  - ${code('spec.rotation.overlap: "0"')} stays in the manifest for later rotations until you set it back (e.g. to 24h) in a follow-up change.`,
    );
  } else if (change.revokeOld === 'WhenUnused') {
    lines.push(
      `  - **Revoked when unused** (${code('revokeOld: WhenUnused')}): the previous key is revoked once every restart target has rolled out and the key service has seen no use of it for **${change.quietPeriod}**; at the latest it ends after **${change.overlap}** (the overlap), with a Warning Event naming who still used it.`,
    );
  } else {
    lines.push(`  - The previous key keeps working for **${change.overlap}** (the overlap), then expires in the key service even if nothing else happens.`);
  }
  if (change.restartTargets.length > 0) {
    lines.push(`  - Restarted once so they read the new Secret: ${change.restartTargets.map((t) => code(`${t.kind}/${t.name}`)).join(', ')}.`);
  } else {
    lines.push('  - No restart targets: consumers must pick up the new Secret themselves (mounted Secrets refresh within about a minute; environment variables need a restart).');
  }
  lines.push(`  - Watch the transition: ${watchCommands(change)}.`);
  return lines;
}

/** How to follow a manifest's rotation once applied: the Rotating condition (with WhenUnused, who still uses the previous key) and the Events. */
function watchCommands(change: RotationChange): string {
  const ns = change.namespace ? ` -n ${change.namespace}` : '';
  const condition = code(`kubectl get apikey ${change.name}${ns} -o jsonpath='{.status.conditions[?(@.type=="Rotating")].message}'`);
  const describe = code(`kubectl describe apikey ${change.name}${ns}`);
  return change.revokeOld === 'WhenUnused'
    ? `${condition} says what the old key waits for (${code('WaitingForRollout')}, or ${code('WaitingForConsumers')} naming the addresses still on it), ${describe} shows ${code('status.previousKeys')} with each one's last use and the Events; ${code('keyward keys describe <old key id>')} lists its stragglers`
    : `${condition} (Overlap until the previous key expires), ${describe} for the Events`;
}

/** Which way the keys' previous keys end, in one line. */
function modesLine(changes: RotationChange[]): string | undefined {
  const manifests = changes.filter((c) => c.target === 'manifest' && !c.immediate);
  if (manifests.length === 0) return undefined;
  const whenUnused = manifests.filter((c) => c.revokeOld === 'WhenUnused').map((c) => code(keyOf(c)));
  const afterOverlap = manifests.filter((c) => c.revokeOld !== 'WhenUnused').map((c) => code(keyOf(c)));
  const parts = [
    whenUnused.length ? `revoked when unused (after every consumer moved): ${whenUnused.join(', ')}` : '',
    afterOverlap.length ? `ended when the overlap does: ${afterOverlap.join(', ')}` : '',
  ].filter(Boolean);
  return `How the previous keys end: ${parts.join('; ')}.`;
}

function rollback(changes: RotationChange[]): string[] {
  const manifests = changes.filter((c) => c.target === 'manifest');
  const overlaps = [...new Set(manifests.map((c) => c.overlap))];
  const immediate = manifests.some((c) => c.immediate);
  const lines = [
    '## How to roll back',
    '',
    '- **Before it is applied** (not merged, or Argo CD / Flux has not synced): close this pull request, or revert it before the sync. Nothing has happened yet.',
    '- **After it is applied, a rotation cannot be undone.** The key service shows a secret once and never reissues it, so the previous key cannot become the current key again.',
  ];
  if (manifests.some((c) => !c.immediate)) {
    lines.push(
      `- **During the overlap** (${overlaps.filter((o) => o !== '0').join(', ')} after the rotation) the previous key still works, so consumers that have not switched keep running. Fix or restart them within that window.`,
      '- **Reverting this pull request before the overlap ends** changes the token once more, and the operator treats that as another rotation: it issues a third key and gives the key from this pull request its own overlap. The key issued by this pull request therefore **remains valid** until that overlap ends (it is not revoked by the revert), and the previous key is **not** restored: it still expires when its own overlap ends. Revert only to get yet another new key; to end a key at once, use `keyward keys revoke <keyId>`.',
    );
  }
  if (immediate) {
    lines.push('- **Overlap 0 (compromised key):** there is no window. The old key is revoked on apply; reverting only issues another new key. Restart consumers that fail.');
  }
  return lines;
}

function verdictRow(verdict: DueVerdict): string {
  const age = verdict.ageMs === null ? 'unknown' : humanAge(verdict.ageMs);
  return `| ${code(verdict.label)} | ${code(`${verdict.key.file}#${verdict.key.index + 1}`)} | ${age} | ${formatDuration(verdict.intervalMs)} | ${cell(verdict.reason)} |`;
}

export function renderPullRequestBody(input: PullRequestBodyInput): string {
  const { changes, report } = input;
  const lines: string[] = [];
  const dueCount = report ? report.due.length : changes.length;
  const immediate = changes.some((c) => c.immediate);

  if (report && report.due.length === 0) {
    lines.push('# No API keys are due for rotation', '', `Checked ${report.current.length + report.unknown.length} key(s) against their rotation policy; none is past it.`);
  } else {
    lines.push(`# ${immediate ? 'Immediately rotate' : 'Rotate'} ${dueCount} API key${dueCount === 1 ? '' : 's'}${immediate ? ' (compromised: immediate revocation)' : ''}`, '');
    if (immediate) {
      lines.push('> [!WARNING]', '> This rotation revokes the old key immediately (overlap 0): consumers still using it fail until they read the new Secret.', '');
    }
    lines.push('## Which keys, and why', '');
    if (report) {
      lines.push('| key | manifest | age | policy | why |', '|---|---|---|---|---|', ...report.due.map(verdictRow));
    } else {
      lines.push('| key | file | why |', '|---|---|---|', ...changes.map((c) => `| ${code(keyOf(c))} | ${code(c.document ? `${c.file}#${c.document}` : c.file)} | ${cell(why(c, report))} |`));
    }
    lines.push('');
    lines.push('## What will happen when this is merged and applied', '');
    if (!input.bumped) {
      lines.push(
        'Nothing yet: no manifest was changed. Run the same command with `--bump`, or `keyward rotate <files> --selector name=<key>`, to change the rotation tokens.',
      );
    } else {
      const modes = modesLine(changes);
      if (modes) lines.push(modes, '');
      for (const change of changes) lines.push(...whatHappens(change));
    }
    lines.push('');
    if (input.bumped) lines.push(...rollback(changes), '');
  }

  if (report && (report.current.length > 0 || report.unknown.length > 0)) {
    lines.push('<details><summary>Other keys checked</summary>', '', '| key | manifest | age | policy | status |', '|---|---|---|---|---|');
    lines.push(...report.unknown.map(verdictRow), ...report.current.map(verdictRow));
    lines.push('', '</details>', '');
  }
  if (input.warnings && input.warnings.length > 0) lines.push('## Warnings', '', ...input.warnings.map((w) => `- ${w}`), '');
  lines.push(`<sub>Generated by ${code(input.command)} at ${input.now.toISOString()}${report ? `; ages from ${report.source === 'annotation' ? 'the keyward.dev/rotated-at annotations' : report.source === 'cluster' ? 'the cluster' : 'the key service'}` : ''}.</sub>`);
  return `${lines.join('\n')}\n`;
}
