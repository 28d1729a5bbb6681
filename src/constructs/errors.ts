/** Invalid construct props: names the construct path and every problem, so `cdktf synth` says where and what. */
export class KeywardConstructError extends Error {
  readonly path: string;
  readonly problems: readonly string[];

  constructor(kind: string, path: string, problems: readonly string[]) {
    super(`${kind} at "${path}" has invalid props:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'KeywardConstructError';
    this.path = path;
    this.problems = problems;
  }
}

/**
 * One problem per field: the shared Duration schema reports both "must be a
 * duration" and "must be at most ten years" for text that is not a duration
 * at all; the first is the one that helps.
 */
export function firstPerField(problems: readonly string[]): string[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const field = problem.slice(0, problem.indexOf(':'));
    if (seen.has(field)) return false;
    seen.add(field);
    return true;
  });
}
