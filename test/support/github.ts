/**
 * GitHub secret scanning as tests play it: a P-256 signing key made here, the
 * public key list served on loopback in the shape GitHub publishes, and
 * reports signed over their raw body.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const SECRET_SCANNING_PATH = '/v1/secret-scanning/github';

export interface SigningKey {
  id: string;
  privateKey: KeyObject;
  pem: string;
}

export function signingKey(id: string): SigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { id, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}

/** The headers GitHub sends with a report signed by `key`. */
export const signedHeaders = (body: string, key: SigningKey): Record<string, string> => ({
  'content-type': 'application/json',
  'github-public-key-identifier': key.id,
  'github-public-key-signature': sign('sha256', Buffer.from(body), key.privateKey).toString('base64'),
});

/** A report body of these tokens. */
export const reportOf = (items: { token: string; url?: string }[]): string =>
  JSON.stringify(items.map((i) => ({ type: 'keyward_api_key', source: 'content', url: 'https://github.com/o/r/blob/x/f', ...i })));

/** The public key list on loopback; `state.served` is what it lists now, `state.fetches` how often it was read. */
export async function publicKeyList(initial: SigningKey[]) {
  const state = { served: initial, fetches: 0 };
  const server: Server = createServer((_req, res) => {
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ public_keys: state.served.map((k) => ({ key_identifier: k.id, key: k.pem, is_current: true })) }));
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/meta/public_keys/secret_scanning`, state, close: () => new Promise((r) => server.close(r)) };
}
