/**
 * A KubeConfig whose API clients share one connection pool.
 * @kubernetes/client-node 2.0.1 builds a new HTTP agent for every request
 * (KubeConfig.applySecurityAuthentication -> createDispatcher), so each call
 * paid a TCP connect and a TLS handshake; reusing the first agent built made
 * the operator's API calls 4-5x cheaper (bench/operator-kubeclient.ts). The
 * agent is built once: building one per request and closing it again cost
 * the operator a destroyed-client error (with its stack) per request.
 */
import { KubeConfig } from '@kubernetes/client-node';

type RequestContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];
type Dispatcher = NonNullable<ReturnType<RequestContext['getDispatcher']>>;
/** client-node's createDispatcher, typed private there. */
type BuildsDispatchers = { createDispatcher(...args: unknown[]): Dispatcher | undefined };

export class PooledKubeConfig extends KubeConfig {
  #dispatcher: Dispatcher | undefined;

  constructor() {
    super();
    const self = this as unknown as BuildsDispatchers;
    const build = self.createDispatcher.bind(this);
    self.createDispatcher = (...args: unknown[]) => (this.#dispatcher ??= build(...args));
  }
}

/** The same cluster, user and context as `source`, with one shared connection pool. */
export function pooled(source: KubeConfig): KubeConfig {
  if (source instanceof PooledKubeConfig) return source;
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromString(source.exportConfig());
  return kubeConfig;
}
