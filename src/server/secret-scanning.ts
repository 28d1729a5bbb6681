/**
 * POST /v1/secret-scanning/github: GitHub's secret scanning partner program
 * reports tokens it found in public places. No bearer key: the raw body is
 * verified against Github-Public-Key-Signature (ECDSA P-256 with SHA-256,
 * base64 DER) with the public key named by Github-Public-Key-Identifier, from
 * the key list GitHub publishes (or a file), cached and fetched again when an
 * identifier is unknown. Nothing is looked up before the signature holds, so
 * an unsigned caller learns nothing about any token.
 *
 * Each token is judged by its checksum first (not ours: a false positive, no
 * lookup), then looked up; ours are accepted durably as pending incidents
 * before the answer (the organization's leak policy is applied after it), and
 * the answer is the program's feedback format.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { API, GITHUB_SIGNATURE_HEADERS } from '../core/api.ts';
import { KeywardError } from '../core/errors.ts';
import type { KeyRecord } from '../core/model.ts';
import { SecretScanningReport, type SecretScanningFeedback } from '../core/schemas.ts';
import { hashSecret, secretFormatError } from '../core/token.ts';
import { invalidJson, payloadTooLarge } from './body.ts';
import { validationError } from './execute.ts';
import type { Logger } from './logger.ts';
import type { KeyService } from './service.ts';

/** Its route table entry (src/core/api.ts): path, body limit (a report of a few thousand tokens, with their URLs), signature headers. */
const ROUTE = API.githubSecretScanning;
export const GITHUB_SECRET_SCANNING_PATH = ROUTE.path;

const PublicKeyList = z.object({
  public_keys: z.array(z.object({ key_identifier: z.string().min(1), key: z.string().min(1) }).loose()),
});

/** GitHub's signing keys: from a URL (GitHub's by default) or a file; fetched at first use and again for an unknown identifier. */
export class GitHubPublicKeys {
  readonly #source: string;
  readonly #minRefreshMs: number;
  #keys = new Map<string, KeyObject>();
  #loadedAt = -Infinity;
  #loading: Promise<void> | undefined;

  constructor(source: string, minRefreshMs: number) {
    this.#source = source;
    this.#minRefreshMs = minRefreshMs;
  }

  /** The key of this identifier; undefined if GitHub does not publish it (after one refresh, at most one per minRefreshMs). */
  async get(identifier: string): Promise<KeyObject | undefined> {
    const known = this.#keys.get(identifier);
    if (known) return known;
    // Unsigned callers can name any identifier: refresh at most once per interval, and share one refresh.
    if (Date.now() - this.#loadedAt >= this.#minRefreshMs) await (this.#loading ??= this.#load().finally(() => (this.#loading = undefined)));
    else if (this.#loading) await this.#loading;
    return this.#keys.get(identifier);
  }

  async #load(): Promise<void> {
    let text: string;
    try {
      if (/^https?:\/\//.test(this.#source)) {
        const response = await fetch(this.#source, { headers: { accept: 'application/json', 'user-agent': 'keyward' }, signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        text = await response.text();
      } else {
        text = await readFile(this.#source, 'utf8');
      }
    } catch (error) {
      throw new KeywardError('SERVICE_UNAVAILABLE', `Could not load GitHub's secret scanning public keys from ${this.#source}: ${(error as Error).message}.`);
    }
    const parsed = PublicKeyList.safeParse(JSON.parse(text));
    if (!parsed.success) throw new KeywardError('SERVICE_UNAVAILABLE', `${this.#source} is not a list of public keys ({"public_keys": [{"key_identifier", "key"}]}).`);
    const keys = new Map<string, KeyObject>();
    for (const entry of parsed.data.public_keys) keys.set(entry.key_identifier, createPublicKey(entry.key));
    this.#keys = keys;
    this.#loadedAt = Date.now();
  }
}

type Feedback = z.output<typeof SecretScanningFeedback>;

/** Whether a reported token is one of ours by its shape and checksum alone (no lookup). */
function looksOurs(token: string, prefix: string): boolean {
  return token.startsWith(prefix) && secretFormatError(token, prefix) === undefined;
}

export function secretScanningRouter(service: KeyService, keys: GitHubPublicKeys, logger: Logger): express.Router {
  const router = express.Router();
  router.post(GITHUB_SECRET_SCANNING_PATH, express.raw({ type: () => true, limit: ROUTE.bodyLimitBytes, inflate: false }), async (req: Request, res: Response, next: NextFunction) => {
    try {
      const body: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const identifier = req.get(GITHUB_SIGNATURE_HEADERS.keyIdentifier);
      const signature = req.get(GITHUB_SIGNATURE_HEADERS.signature);
      if (!identifier || !signature) throw new KeywardError('SIGNATURE_INVALID', `The ${GITHUB_SIGNATURE_HEADERS.keyIdentifier} and ${GITHUB_SIGNATURE_HEADERS.signature} headers are required.`);
      const publicKey = await keys.get(identifier);
      if (!publicKey) throw new KeywardError('SIGNATURE_INVALID', 'The signature names a key GitHub does not publish.');
      if (!verify('sha256', body, publicKey, Buffer.from(signature, 'base64'))) throw new KeywardError('SIGNATURE_INVALID', 'The signature does not match the body.');
      // Signed by GitHub from here on.
      let json: unknown;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        throw invalidJson();
      }
      const report = SecretScanningReport.safeParse(json);
      if (!report.success) throw validationError(report.error.issues, 'body');
      const prefix = service.context.tokenPrefix;
      const judged = await Promise.all(
        report.data.map(async (item) => {
          const hash = hashSecret(item.token);
          const key: KeyRecord | undefined = looksOurs(item.token, prefix) ? await service.store.reads.keyByHash(hash) : undefined;
          return { item, hash, key };
        }),
      );
      // Accepted durably before answering; acted on after (incident-response.ts, processPending).
      await service.incidents.acceptLeaks(
        judged.flatMap(({ item, key }) => (key ? [{ key, tokenType: item.type, url: item.url, source: item.source }] : [])),
      );
      const feedback: Feedback = judged.map(({ item, hash, key }) => ({ token_hash: hash, token_type: item.type, label: key ? 'true_positive' : 'false_positive' }));
      logger.info({ tokens: feedback.length, ours: feedback.filter((f) => f.label === 'true_positive').length }, 'secret scanning report accepted');
      res.status(200).set('cache-control', 'no-store').json(feedback);
    } catch (error) {
      // Mapped, logged and answered by the app's one error handler (failureOutcome), as every route's failures are.
      next(error);
    }
  });
  // What express.raw refused, in this route's words: its own body limit, and no compressed body (it is signed as sent).
  router.use(GITHUB_SECRET_SCANNING_PATH, (error: unknown, _req: Request, _res: Response, next: NextFunction) => {
    const type = (error as { type?: unknown } | null)?.type;
    if (type === 'entity.too.large') next(payloadTooLarge(ROUTE.bodyLimitBytes));
    else if (type === 'encoding.unsupported') next(new KeywardError('UNSUPPORTED_MEDIA_TYPE', 'The report is sent compressed (Content-Encoding); send it as GitHub signed it, uncompressed.'));
    else next(error);
  });
  return router;
}
