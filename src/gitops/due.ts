/**
 * Which keys are due for rotation. Pure: the keys from the manifests, an
 * observation of each key's last rotation (from the cluster, the key service
 * or the manifest's keyward.dev/rotated-at annotation, gathered at the edge)
 * and the clock in; a verdict per key out.
 *
 * Policy: spec.rotation.interval, else the environment's default (90d
 * production and staging, 180d development). `rotation.suspend` pauses the
 * operator's own schedule, not the policy: a team that rotates only through
 * reviewed pull requests suspends the schedule and lets this job propose them.
 */
import { formatDuration } from '../core/duration.ts';
import { keyLabel, ROTATED_AT_ANNOTATION, type ApiKeyDocument } from './manifests.ts';

export type AgeSource = 'annotation' | 'cluster' | 'service';

/** What the source said about one key. */
export type Observation =
  | { found: true; lastRotation: string; keyId?: string | undefined; rotationDueAt?: string | undefined }
  | { found: false; why: string; due: boolean };

export interface DueVerdict {
  key: ApiKeyDocument;
  label: string;
  /** due: past policy; current: within policy; unknown: no age could be established (and not treated as due). */
  state: 'due' | 'current' | 'unknown';
  reason: string;
  lastRotation: string | null;
  ageMs: number | null;
  intervalMs: number;
  dueAt: string | null;
  keyId: string | null;
  /** The key service's own rotationDueAt (environment policy of the organization), when asked. */
  serviceRotationDueAt: string | null;
}

export interface DueReport {
  now: string;
  source: AgeSource;
  due: DueVerdict[];
  current: DueVerdict[];
  unknown: DueVerdict[];
}

export function humanAge(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const rounded = ms >= 86_400_000 ? Math.floor(ms / 3_600_000) * 3_600_000 : ms >= 3_600_000 ? Math.floor(ms / 60_000) * 60_000 : Math.floor(ms / 1000) * 1000;
  return formatDuration(rounded);
}

const SOURCE_WORDS: Record<AgeSource, string> = {
  annotation: `the ${ROTATED_AT_ANNOTATION} annotation`,
  cluster: 'the cluster (status.lastRotationTime)',
  service: 'the key service (createdAt of the active key)',
};

export function assessDue(keys: ApiKeyDocument[], observations: Map<ApiKeyDocument, Observation>, source: AgeSource, now: Date): DueReport {
  const report: DueReport = { now: now.toISOString(), source, due: [], current: [], unknown: [] };
  for (const key of keys) {
    const observation = observations.get(key) ?? { found: false, why: 'not observed', due: false };
    const intervalMs = key.effective.intervalMs;
    const policy = key.spec.rotation?.interval ? `rotation.interval ${formatDuration(intervalMs)}` : `${key.effective.environment} default ${formatDuration(intervalMs)}`;
    const base = { key, label: keyLabel(key), intervalMs, keyId: null, serviceRotationDueAt: null };
    if (!observation.found) {
      const verdict: DueVerdict = { ...base, state: observation.due ? 'due' : 'unknown', reason: `${observation.why} (policy: ${policy})`, lastRotation: null, ageMs: null, dueAt: null };
      (observation.due ? report.due : report.unknown).push(verdict);
      continue;
    }
    const last = Date.parse(observation.lastRotation);
    const ageMs = Math.max(0, now.getTime() - last);
    const dueAt = new Date(last + intervalMs).toISOString();
    const isDue = now.getTime() >= last + intervalMs;
    const verdict: DueVerdict = {
      ...base,
      keyId: observation.keyId ?? null,
      serviceRotationDueAt: observation.rotationDueAt ?? null,
      state: isDue ? 'due' : 'current',
      reason: isDue
        ? `last rotated ${observation.lastRotation} per ${SOURCE_WORDS[source]}: ${humanAge(ageMs)} old, past its policy (${policy}) since ${dueAt}`
        : `${humanAge(ageMs)} old, within its policy (${policy}); due at ${dueAt}`,
      lastRotation: observation.lastRotation,
      ageMs,
      dueAt,
    };
    (isDue ? report.due : report.current).push(verdict);
  }
  return report;
}

/** Age from the manifest alone: the annotation this tool writes on every rotation. */
export function observeAnnotation(key: ApiKeyDocument): Observation {
  const value = key.rotatedAt;
  if (value === undefined) {
    return { found: false, due: true, why: `no ${ROTATED_AT_ANNOTATION} annotation: its age is unknown, so it is treated as due (the rotation starts the clock)` };
  }
  if (Number.isNaN(Date.parse(value))) {
    return { found: false, due: true, why: `${ROTATED_AT_ANNOTATION} "${value}" is not an ISO time: its age is unknown, so it is treated as due` };
  }
  return { found: true, lastRotation: new Date(Date.parse(value)).toISOString() };
}

/** Age from the live ApiKey's status (undefined resource: not applied yet). */
export function observeClusterStatus(resource: { status?: { lastRotationTime?: string; keyId?: string } } | undefined): Observation {
  if (!resource) return { found: false, due: false, why: 'not in the cluster yet: it gets its first key when applied' };
  const last = resource.status?.lastRotationTime;
  if (!last) return { found: false, due: false, why: 'no key issued yet (status.lastRotationTime is empty)' };
  return { found: true, lastRotation: last, keyId: resource.status?.keyId };
}

/** Age from the key service: the newest active key whose metadata names this ApiKey. */
export function observeServiceKeys(
  key: ApiKeyDocument,
  serviceKeys: { id: string; status: string; createdAt: string; rotationDueAt: string; rotatedToId: string | null; metadata: Record<string, unknown> }[],
): Observation {
  const matching = serviceKeys
    .filter((k) => k.status === 'active' && k.metadata['k8s/namespace'] === key.namespace && k.metadata['k8s/name'] === key.name)
    .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const current = matching.find((k) => k.rotatedToId === null) ?? matching[0];
  if (!current) return { found: false, due: false, why: `no active key in the key service has metadata k8s/namespace=${key.namespace}, k8s/name=${key.name}` };
  return { found: true, lastRotation: current.createdAt, keyId: current.id, rotationDueAt: current.rotationDueAt };
}
