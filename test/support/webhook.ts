/** A real HTTP receiver on loopback standing in for the alert webhook's endpoint: it keeps each delivery's raw body and headers. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Delivery {
  body: string;
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

export async function webhookReceiver(options: { failFirst?: number } = {}) {
  const received: Delivery[] = [];
  let refused = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      if (refused < (options.failFirst ?? 0)) {
        refused++;
        res.writeHead(503).end();
        return;
      }
      received.push({ body, json: JSON.parse(body), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`, received, close: () => new Promise((r) => server.close(r)) };
}

/** Waits for a condition, polling (no fixed sleep decides the outcome). */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}
