/** What the parts of a reconcile share: the clients they act through, the gatherer they read through, and the clock. */
import type { Logger } from 'pino';
import type { KeywardClient } from '../client/index.ts';
import type { Gatherer } from './gather.ts';
import type { KubeApi } from './kube.ts';
import type { OperatorMetrics } from './metrics.ts';

export const CRASH_POINTS = ['intent-recorded', 'key-issued', 'secret-written', 'status-recorded'] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface ReconcileContext {
  kube: KubeApi;
  keys: KeywardClient;
  gather: Gatherer;
  metrics: OperatorMetrics;
  logger: Logger;
  clock: () => number;
  /** Fault injection for crash tests: called at each step boundary of an issue. */
  crashPoint: ((point: CrashPoint) => void) | undefined;
}

/** "namespace/name", the way logs name an ApiKey. */
export const refOf = (resource: { metadata: { namespace: string; name: string } }): string => `${resource.metadata.namespace}/${resource.metadata.name}`;
export const generationOf = (resource: { metadata: { generation?: number } }): number => resource.metadata.generation ?? 0;
