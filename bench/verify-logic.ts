/**
 * The verify path's logic in one process, without HTTP: the executor called
 * directly with the requests the benchmark sends (the body parsed from its
 * text, the answer stringified), against a real keyward store and service
 * set up as in `npm run bench`. For measuring what a change to the logic
 * saves without the sockets' noise, e.g. instructions under valgrind:
 *
 *   valgrind --tool=cachegrind --cache-sim=no --smc-check=all-non-file \
 *     node_modules/.bin/node --expose-gc bench/verify-logic.ts --requests 0
 *   (the same with --requests 40000; the difference / 40,000 is one request)
 *
 * or time per request without it (`npx node bench/verify-logic.ts`).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { execute, type RawRequest, type RouteEnv } from '../src/server/execute.ts';
import { FailedAuthMonitor } from '../src/server/failed-auth.ts';
import { createLogger } from '../src/server/logger.ts';
import { Metrics } from '../src/server/metrics.ts';
import { routes, type Route } from '../src/server/routes.ts';
import { resolveConfig } from '../src/server/config.ts';
import { startServer } from '../src/server/server.ts';
import { prepareVerify } from './verify-setup.ts';

const { values: flags } = parseArgs({
  options: { requests: { type: 'string', default: '200000' }, warmup: { type: 'string', default: '20000' }, keys: { type: 'string', default: '200' } },
});
const requests = Number(flags.requests);
const warmup = Number(flags.warmup);
/** With --expose-gc: a full collection before and after the measured loop, so two runs differ only by the loop (and the garbage it made). */
const collect = (globalThis as { gc?: () => void }).gc ?? (() => {});

const logger = createLogger('warn');
let admin = '';
const running = await startServer(
  resolveConfig({ port: 0, host: '127.0.0.1', storeFile: join(mkdtempSync(join(tmpdir(), 'keyward-logic-')), 'db.json'), bootstrapOrganization: 'bench' }),
  { logger, onBootstrap: (result) => (admin = result.secret) },
);
const fixture = await prepareVerify(running.url, admin, Number(flags.keys));
const env: RouteEnv = {
  service: running.service,
  logger,
  failedAuth: new FailedAuthMonitor({ threshold: 10, windowMs: 60_000, throttleMs: 300_000 }, () => {}),
  metrics: new Metrics(running.store, Date.now, { organizationLabels: false }),
};
const route = routes.find((r) => r.operationId === 'verifyKey') as Route;
const texts = fixture.requests.map((r) => r.body);
const authorization = `Bearer ${fixture.verifierSecret}`;
let bytes = 0;
const verify = (i: number): void => {
  const request: RawRequest = { authorization, body: JSON.parse(texts[i % texts.length]!), query: {}, params: {}, ip: '127.0.0.1' };
  const outcome = execute(route, request, env);
  if (outcome instanceof Promise || outcome.status !== 200) throw new Error(`not answered from memory: ${JSON.stringify(outcome)}`);
  bytes += JSON.stringify(outcome.body).length;
};
for (let i = 0; i < warmup; i++) verify(i);
collect();
const started = performance.now();
for (let i = 0; i < requests; i++) verify(i);
const ms = performance.now() - started;
collect();
process.stdout.write(`${requests} requests after ${warmup} to warm up, ${((ms * 1000) / Math.max(1, requests)).toFixed(2)} µs each (${bytes} bytes answered)\n`);
await running.close();
