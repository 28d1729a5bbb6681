/** `keyward audit export`: the audit log as JSON lines, for archives and SIEMs. */
import { Command } from 'commander';
import type { AuditQuery } from '../client/index.ts';
import { clientFor, clientSettings } from './client.ts';

export function auditCommand(): Command {
  const audit = new Command('audit').description('read the audit log');
  clientSettings(audit.command('export').description('print every audit event as one JSON object per line, newest first'))
    .option('--action <action>', 'only this action, e.g. key.revoked')
    .option('--actor <keyId>', 'only events by this key')
    .option('--target <id>', 'only events about this key, role or address')
    .option('--from <iso>', 'only events at or after this time')
    .option('--to <iso>', 'only events at or before this time')
    .action(async (o: { action?: AuditQuery['action']; actor?: string; target?: string; from?: string; to?: string }) => {
      const query = { action: o.action, actorKeyId: o.actor, targetId: o.target, from: o.from, to: o.to };
      let count = 0;
      for await (const event of clientFor(o, ['listAuditLog']).allAuditEvents(query)) {
        process.stdout.write(`${JSON.stringify(event)}\n`);
        count++;
      }
      process.stderr.write(`exported ${count} audit events\n`);
    });
  return audit;
}
