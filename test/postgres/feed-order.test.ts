/**
 * The PostgreSQL change feed's ordering lock (postgres-store.ts, #insertAudit):
 * positions come from a sequence, taken when a key change writes its audit
 * record, but transactions commit in their own order. Without the lock a
 * change that took position n and commits after the one that took n + 1 is
 * skipped by a follower that read n + 1 in between. Here a trigger holds the
 * first writer's transaction open after it took its position (until the test
 * lets it go), a second writer changes another key meanwhile, and the
 * follower reads the feed in between: it must get both changes.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/keyservice.ts';
import { until } from '../support/webhook.ts';

/** Advisory lock the trigger waits for while the test holds it. */
const HOLD = 4242;

let service: TestService;
let db: pg.Client;
let holder: pg.Client;

beforeAll(async () => {
  service = await startTestService();
  db = new pg.Client({ connectionString: service.store.databaseUrl });
  holder = new pg.Client({ connectionString: service.store.databaseUrl });
  await Promise.all([db.connect(), holder.connect()]);
});
afterAll(async () => {
  await Promise.all([db?.end(), holder?.end()]);
  await service?.stop();
});

const waitingAdvisoryLocks = async (): Promise<number> =>
  Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).rows[0]!.n);

describe('the change feed on PostgreSQL', () => {
  it('a follower misses no change that commits after a later position was read (the ordering lock)', async () => {
    const admin = service.client();
    const first = await admin.createKey({ name: 'First writer', role: 'viewer' });
    const second = await admin.createKey({ name: 'Second writer', role: 'viewer' });
    await db.query(`CREATE FUNCTION test_hold_feed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.target_id = '${first.key.id}' AND NEW.action = 'key.updated' THEN PERFORM pg_advisory_xact_lock(${HOLD}); END IF;
        RETURN NEW;
      END $$`);
    await db.query('CREATE TRIGGER test_hold_feed AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION test_hold_feed()');
    try {
      const start = (await admin.listEvents({})).cursor;
      await holder.query('SELECT pg_advisory_lock($1)', [HOLD]);
      // The first writer takes its position, then waits in the trigger with its transaction open.
      const firstUpdate = admin.updateKey(first.key.id, { name: 'First writer, renamed' });
      await until(async () => (await waitingAdvisoryLocks()) === 1);
      // The second writer: with the lock it waits for the first to commit; without it, it commits a later position now.
      let secondDone = false;
      const secondUpdate = admin.updateKey(second.key.id, { name: 'Second writer, renamed' }).finally(() => (secondDone = true));
      await until(async () => secondDone || (await waitingAdvisoryLocks()) === 2);
      // The follower reads in between, then after the first writer commits, from the cursor it got.
      const between = await admin.listEvents({ after: start });
      await holder.query('SELECT pg_advisory_unlock($1)', [HOLD]);
      await Promise.all([firstUpdate, secondUpdate]);
      const rest = await admin.listEvents({ after: between.cursor });
      const seen = [...between.items, ...rest.items].map((e) => [e.action, e.keyId]);
      expect(seen).toEqual([
        ['key.updated', first.key.id],
        ['key.updated', second.key.id],
      ]);
    } finally {
      await holder.query('SELECT pg_advisory_unlock_all()');
      await db.query('DROP TRIGGER IF EXISTS test_hold_feed ON audit_events; DROP FUNCTION IF EXISTS test_hold_feed()');
    }
  });
});
