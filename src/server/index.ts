/**
 * `keyward/server`: the key service as a library (what `keyward serve`
 * runs): resolve a configuration from the environment and overrides, then
 * start it.
 *
 *   const running = await startServer(resolveConfig(configFromEnv(process.env), { port: 0 }));
 */
export { configFromEnv, resolveConfig, ServerConfig, type ServerConfigInput } from './config.ts';
export { startServer, type RunningServer, type StartOptions } from './server.ts';
