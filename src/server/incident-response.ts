/**
 * Compromise response in one step, and incidents: revoke now, issue the
 * replacement (or leave it to the operator), record what was done, notify.
 * The same response serves a key reported through the API and a leak
 * reported by GitHub secret scanning (accepted first, processed after the
 * answer: processPending).
 */
import type { z } from 'zod';
import { KeywardError } from '../core/errors.ts';
import { newIncidentId } from '../core/issue.ts';
import {
  isOperatorManaged,
  type AddressUse,
  keyStatus,
  OPERATOR_METADATA,
  type Incident,
  type IncidentAction,
  type IncidentReporter,
  type KeyRecord,
  type NotificationAttempt,
  type Organization,
} from '../core/model.ts';
import { requireCanGrant } from '../core/permissions.ts';
import { addressRowKey, mergedAddressUse } from '../core/address-uses.ts';
import type * as schemas from '../core/schemas.ts';
import type { Alert, Notifier } from './alerts.ts';
import { actorId, isMember, type Principal } from './auth.ts';
import type { ServiceContext } from './context.ts';
import { replacementFor } from './replacement.ts';

type Parsed<T extends z.ZodType> = z.output<T>;

/** The days before a report the investigation view covers. */
const INVESTIGATION_DAYS = 7;
const DAY_MS = 86_400_000;
/** Leak reports acted on at once (a batch of 1,000 tokens goes in groups, each one store commit per key). */
const PROCESS_CONCURRENCY = 16;

interface Response {
  reason: string;
  replace: boolean;
  notify: boolean;
  reporter: IncidentReporter;
  /** The key that reported it; null for a leak report (nobody would receive a replacement's secret). */
  actor: Principal | null;
  response: Incident['response'];
}

/** A reported token that is one of our keys. */
export interface LeakedKey {
  key: KeyRecord;
  tokenType: string;
  url: string | undefined;
  source: string | undefined;
}

const apiKeyOf = (key: KeyRecord): string => `${String(key.metadata[OPERATOR_METADATA.namespace])}/${String(key.metadata[OPERATOR_METADATA.name])}`;

export class IncidentResponse {
  readonly #ctx: ServiceContext;
  readonly #notifier: Notifier | undefined;
  readonly #onError: (error: unknown, what: string) => void;
  #processing: Promise<void> | undefined;
  #again = false;

  constructor(ctx: ServiceContext, notifier: Notifier | undefined, onError: (error: unknown, what: string) => void) {
    this.#ctx = ctx;
    this.#notifier = notifier;
    this.#onError = onError;
  }

  /** POST /v1/keys/:id/compromise: the caller must hold what the key holds (as for revoke). */
  async compromise(principal: Principal, keyId: string, body: Parsed<typeof schemas.CompromiseKeyBody>) {
    const ctx = this.#ctx;
    const key = await ctx.requireKey(principal, keyId);
    const role = await ctx.roleResolver.find(principal.organization.id, key.roleId);
    if (role) requireCanGrant(principal.permissions, role);
    return this.#respond(principal.organization, key, {
      reason: body.reason,
      replace: body.replace,
      notify: body.notify,
      reporter: isMember(principal)
        ? { via: 'api', keyId: null, memberId: principal.member.id, memberEmail: principal.member.email, ip: principal.ip }
        : { via: 'api', keyId: principal.key.id, ip: principal.ip },
      actor: principal,
      response: 'compromise',
    });
  }

  async list(principal: Principal, query: Parsed<typeof schemas.ListIncidentsQuery>) {
    const page = await this.#ctx.store.listIncidents(principal.organization.id, { keyId: query.keyId, limit: query.limit, before: query.cursor });
    return { items: page.items.map(view), nextCursor: page.next };
  }

  /** One incident, with what an investigation starts from. */
  async get(principal: Principal, incidentId: string) {
    const ctx = this.#ctx;
    const organizationId = principal.organization.id;
    const incident = await ctx.store.getIncident(organizationId, incidentId);
    if (!incident) throw new KeywardError('INCIDENT_NOT_FOUND', `No incident ${incidentId} in this organization.`);
    await ctx.usage.flush();
    const reported = Date.parse(incident.reportedAt);
    const window = { from: new Date(reported - INVESTIGATION_DAYS * DAY_MS).toISOString().slice(0, 10), to: incident.reportedAt.slice(0, 10) };
    const [key, uses, byAddress, audit] = await Promise.all([
      ctx.store.getKey(organizationId, incident.keyId),
      ctx.store.listUsage(organizationId, { keyId: incident.keyId, ...window }),
      ctx.store.listAddressUses(organizationId, { keyId: incident.keyId, ...window }),
      ctx.store.listAudit(organizationId, { targetId: incident.keyId, limit: 100 }),
    ]);
    const ips = [...new Set(byAddress.flatMap((row) => (row.ip === null ? [] : [row.ip])))];
    const shared = await ctx.store.addressesOfOtherKeys(organizationId, incident.keyId, ips, window);
    const shown = key ? ctx.view(key) : undefined;
    const total = uses.reduce((sum, row) => sum + row.count, 0);
    const itemized = byAddress.reduce((sum, row) => sum + row.count, 0);
    return {
      ...view(incident),
      investigation: {
        window,
        uses: uses.map(({ day, outcome, count }) => ({ day, outcome, count })).sort((a, b) => a.day.localeCompare(b.day) || a.outcome.localeCompare(b.outcome)),
        addresses: addressesInWindow(byAddress, new Set(shared)),
        unitemizedUses: Math.max(0, total - itemized),
        lastUsedAt: shown?.lastUsedAt ?? null,
        lastUsedIp: shown?.lastUsedIp ?? null,
        auditTrail: audit.items,
      },
    };
  }

  /**
   * Leak reports, accepted durably before they are answered: one pending
   * incident per leaked secret (a token reported twice opens one). The
   * organization's leak policy is decided here; processPending acts on it.
   */
  async acceptLeaks(leaks: readonly LeakedKey[]): Promise<Incident[]> {
    const ctx = this.#ctx;
    const now = ctx.clock();
    const at = now.toISOString();
    const incidents: Incident[] = [];
    for (const leak of leaks) {
      const organization = await ctx.store.reads.organization(leak.key.organizationId);
      if (!organization) continue;
      const where = leak.url ?? 'a public place';
      incidents.push({
        id: newIncidentId(now),
        organizationId: leak.key.organizationId,
        keyId: leak.key.id,
        keyName: leak.key.name,
        reason: `GitHub secret scanning found the secret at ${where}`,
        reportedAt: at,
        reportedBy: {
          via: 'github-secret-scanning',
          keyId: null,
          ip: null,
          tokenType: leak.tokenType,
          ...(leak.url !== undefined ? { url: leak.url } : {}),
          ...(leak.source !== undefined ? { source: leak.source } : {}),
        },
        state: 'pending',
        response: organization.leakPolicy,
        replacementKeyId: null,
        dedupeKey: `github:${leak.key.id}`,
        actions: [{ at, action: 'reported', detail: `Reported by GitHub secret scanning (${leak.tokenType}); leak policy: ${organization.leakPolicy}.` }],
        notifications: [],
      });
    }
    const fresh = await ctx.store.insertIncidents(incidents);
    if (fresh.length > 0) this.processPending();
    return fresh;
  }

  /** Acts on pending incidents in the background (after the answer; also at start, for reports accepted before a restart). */
  processPending(): void {
    if (this.#processing) {
      this.#again = true;
      return;
    }
    this.#processing = (async () => {
      do {
        this.#again = false;
        for (;;) {
          const pending = await this.#ctx.store.pendingIncidents(PROCESS_CONCURRENCY);
          if (pending.length === 0) break;
          const results = await Promise.allSettled(pending.map((incident) => this.#handle(incident)));
          const failed = results.filter((r) => r.status === 'rejected');
          for (const failure of failed) this.#onError((failure as PromiseRejectedResult).reason, 'acting on a leak report');
          // Retried at the next report or start rather than spinning on a store that fails.
          if (failed.length === results.length) return;
        }
      } while (this.#again);
    })()
      .catch((error: unknown) => this.#onError(error, 'acting on leak reports'))
      .finally(() => {
        this.#processing = undefined;
      });
  }

  /** For shutdown and tests: wait until pending incidents were acted on. */
  async idle(): Promise<void> {
    while (this.#processing) await this.#processing;
  }

  async #handle(incident: Incident): Promise<void> {
    const ctx = this.#ctx;
    const [key, organization] = await Promise.all([ctx.store.findKeyById(incident.keyId), ctx.store.reads.organization(incident.organizationId)]);
    const at = ctx.clock().toISOString();
    if (!key || !organization || key.revokedAt !== null) {
      const detail = key?.revokedAt ? `The key was already revoked at ${key.revokedAt}.` : 'The key no longer exists.';
      await ctx.store.updateIncident(incident.organizationId, incident.id, { state: 'handled', actions: [{ at, action: 'already-revoked', detail }] });
      return;
    }
    const reporter = incident.reportedBy;
    if (incident.response === 'notify') {
      const audit = ctx.audit(null, key.organizationId, 'key.leak-reported', 'key', key.id, { after: { incidentId: incident.id, policy: 'notify', url: reporter.url ?? null } });
      const kept: IncidentAction = { at, action: 'kept', detail: 'Leak policy notify: the key keeps working. Rotate or revoke it.', keyId: key.id };
      const updated = await ctx.store.updateIncident(incident.organizationId, incident.id, { state: 'handled', actions: [kept] }, audit);
      this.#notify(updated);
      return;
    }
    try {
      await this.#respond(organization, key, { reason: incident.reason, replace: incident.response === 'rotate', notify: true, reporter, actor: null, response: incident.response }, incident);
    } catch (error) {
      if (!(error instanceof KeywardError)) throw error;
      // Refused (e.g. the last admin key): recorded, and the people are told; the key keeps working.
      const refused: IncidentAction = { at, action: 'refused', detail: `${error.message} ${error.hint}`, keyId: key.id };
      const updated = await ctx.store.updateIncident(incident.organizationId, incident.id, { state: 'handled', actions: [refused] });
      this.#notify(updated);
    }
  }

  async #respond(organization: Organization, key: KeyRecord, response: Response, accepted?: Incident) {
    const ctx = this.#ctx;
    const now = ctx.clock();
    const at = now.toISOString();
    const managed = isOperatorManaged(key);
    const expired = keyStatus(key, now.getTime()) === 'expired';
    // The operator delivers an ApiKey's replacement; a leak report has nobody to hand a secret to.
    const issued = response.replace && !managed && !expired && response.actor !== null ? replacementFor(key, organization, actorId(response.actor), ctx.tokenPrefix, now) : null;
    const actions: IncidentAction[] = [...(accepted?.actions ?? []), { at, action: 'revoked', detail: 'Revoked at once, with no overlap.', keyId: key.id }];
    if (issued) {
      actions.push({ at, action: 'replacement-issued', detail: `Replacement ${issued.record.id} ("${issued.record.name}") issued with role ${issued.record.roleId}; its secret was shown once to the reporter.`, keyId: issued.record.id });
    } else if (response.replace && managed) {
      actions.push({ at, action: 'replacement-by-operator', detail: `The operator issues the replacement into ApiKey ${apiKeyOf(key)}'s Secret and restarts its consumers.` });
    } else if (response.replace) {
      const why = expired ? 'the key had expired' : 'nobody would receive its secret';
      actions.push({ at, action: 'no-replacement', detail: `No replacement issued here (${why}): create a key with the same role and deploy it.` });
    }
    const incident: Incident = {
      id: accepted?.id ?? newIncidentId(now),
      organizationId: key.organizationId,
      keyId: key.id,
      keyName: key.name,
      reason: response.reason,
      reportedAt: accepted?.reportedAt ?? at,
      reportedBy: response.reporter,
      state: 'handled',
      response: response.response,
      replacementKeyId: issued?.record.id ?? null,
      dedupeKey: accepted?.dedupeKey ?? null,
      actions,
      notifications: accepted?.notifications ?? [],
    };
    const audits = [
      ctx.audit(response.actor, key.organizationId, 'key.compromised', 'key', key.id, {
        before: { status: keyStatus(key, now.getTime()), name: key.name },
        after: { incidentId: incident.id, reason: response.reason, reportedVia: response.reporter.via, replacementKeyId: incident.replacementKeyId },
      }),
    ];
    if (issued) {
      const { record } = issued;
      audits.push(
        ctx.audit(response.actor, key.organizationId, 'key.created', 'key', record.id, {
          after: { name: record.name, role: record.roleId, environment: record.environment, ipAllowlist: record.ipAllowlist, replacing: key.id, incidentId: incident.id },
        }),
      );
    }
    const result = await ctx.store.compromiseKey({ organizationId: key.organizationId, keyId: key.id, at, replacement: issued?.record ?? null, incident }, audits);
    if (response.notify) this.#notify(result.incident);
    return {
      incident: view(result.incident),
      revoked: ctx.view(result.revoked),
      replacement: issued && result.replacement ? { key: ctx.view(result.replacement), secret: issued.secret } : null,
    };
  }

  /** The signed notification; each delivery attempt is recorded on the incident. */
  #notify(incident: Incident): void {
    if (!this.#notifier) return;
    const alert: Alert = {
      type: incident.reportedBy.via === 'api' ? 'key.compromised' : 'key.leaked',
      at: this.#ctx.clock().toISOString(),
      incident: view(incident),
    };
    const record = (attempt: NotificationAttempt) =>
      void this.#ctx.store
        .updateIncident(incident.organizationId, incident.id, { notifications: [attempt] })
        .catch((error: unknown) => this.#onError(error, 'recording a notification attempt'));
    this.#notifier.send(alert, { always: true, onAttempt: record });
  }
}

/**
 * The investigation's table: the key's uses in the window by address,
 * outcome and permission (the days added up), most used first, each marked
 * whether that address used no other key of the organization in the window
 * (null: the address is not known).
 */
export function addressesInWindow(rows: readonly AddressUse[], usedOtherKeys: ReadonlySet<string>) {
  const merged = new Map<string, AddressUse>();
  for (const row of rows) {
    const id = addressRowKey({ ...row, day: '' });
    const seen = merged.get(id);
    merged.set(id, seen ? mergedAddressUse(seen, row) : row);
  }
  return [...merged.values()]
    .map(({ ip, outcome, permission, count, firstSeen, lastSeen }) => ({ ip, outcome, permission, count, firstSeen, lastSeen, onlyThisKey: ip === null ? null : !usedOtherKeys.has(ip) }))
    .sort((a, b) => b.count - a.count || a.firstSeen.localeCompare(b.firstSeen) || (a.ip ?? '').localeCompare(b.ip ?? ''));
}

/** What the API shows of an incident (all of it but its dedupe key, bookkeeping). */
function view(incident: Incident) {
  const { dedupeKey: _dedupeKey, ...shown } = incident;
  return shown;
}
