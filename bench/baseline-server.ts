/**
 * The baseline for the verify benchmark: a bare node:http server doing the
 * minimum per-request work a key verifier cannot avoid, with no framework,
 * no validation library and no store abstraction.
 *
 * Per POST /v1/verify it:
 *   1. reads the Authorization header, strips "Bearer ", SHA-256s the caller's
 *      secret (one-shot crypto.hash, the fastest way Node has, as keyward
 *      uses) and looks the hash up in a Map (401 if absent);
 *   2. reads the request body, JSON.parse()s it, SHA-256s body.key and looks
 *      the hash up in a Map;
 *   3. checks the key belongs to the caller's organization;
 *   4. JSON.stringify()s a response object with the same fields and values as
 *      keyward's (the parent records keyward's answer for each key and hands
 *      it over), and writes it with the same three headers.
 *
 * Usage: BASELINE_PORT=<port> BASELINE_DATA=<file.json> node bench/baseline-server.ts
 * where the data file is { callers: [{ hash, organizationId }], keys: [{ hash, organizationId, result }] }.
 */
import { hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

interface Caller {
  hash: string;
  organizationId: string;
}
interface KeyEntry {
  hash: string;
  organizationId: string;
  result: Record<string, unknown>;
}
interface BaselineData {
  callers: Caller[];
  keys: KeyEntry[];
}

const data = JSON.parse(readFileSync(process.env.BASELINE_DATA!, 'utf8')) as BaselineData;
const callers = new Map(data.callers.map((c) => [c.hash, c]));
const keys = new Map(data.keys.map((k) => [k.hash, k]));
const sha256 = (text: string): string => hash('sha256', text, 'hex');
const INVALID = { valid: false, code: 'UNKNOWN_KEY', message: 'No key matches this secret.' };

function send(res: import('node:http').ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
    'cache-control': 'no-store',
  });
  res.end(payload);
}

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    send(res, 200, { status: 'ok' });
    return;
  }
  if (req.method !== 'POST' || req.url !== '/v1/verify') {
    send(res, 404, { error: { code: 'ROUTE_NOT_FOUND' } });
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const auth = req.headers.authorization ?? '';
    const caller = auth.startsWith('Bearer ') ? callers.get(sha256(auth.slice(7))) : undefined;
    if (!caller) {
      send(res, 401, { error: { code: 'UNKNOWN_KEY' } });
      return;
    }
    let body: { key?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { key?: unknown };
    } catch {
      send(res, 400, { error: { code: 'INVALID_JSON' } });
      return;
    }
    const key = typeof body.key === 'string' ? keys.get(sha256(body.key)) : undefined;
    send(res, 200, key && key.organizationId === caller.organizationId ? key.result : INVALID);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(process.env.BASELINE_PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`baseline listening on ${typeof address === 'object' && address ? address.port : '?'}\n`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
