/** CLI output in the kubectl style: aligned tables by default, JSON with --output json. */
export type OutputFormat = 'table' | 'json';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printTable(headers: string[], rows: (string | null | undefined)[][]): void {
  const cells = rows.map((row) => row.map((cell) => (cell === null || cell === undefined || cell === '' ? '<none>' : cell)));
  const widths = headers.map((header, i) => Math.max(header.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]! + 3))).join('');
  process.stdout.write(`${[line(headers), ...cells.map(line)].join('\n')}\n`);
}

/** "3d", "5h", "2m", like kubectl's AGE column. */
export function age(iso: string | null, now = Date.now()): string {
  if (!iso) return '<never>';
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)}h`;
  return `${Math.round(seconds / 86_400)}d`;
}

export function warnSecretOnce(secret: string, keyId: string): void {
  process.stderr.write(
    '\nStore this secret now: it is shown once and cannot be retrieved again.\n' +
      `Key ID (public): ${keyId}\n`,
  );
  process.stdout.write(`${secret}\n`);
}
