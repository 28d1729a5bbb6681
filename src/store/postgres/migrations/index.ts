/**
 * Versioned schema migrations, applied in order; `schema_migrations` records
 * which ones a database holds. Never edit a released migration: add the next.
 */
import * as m0001 from './0001_initial.ts';
import * as m0002 from './0002_max_grace_period.ts';
import * as m0003 from './0003_role_changed_at.ts';
import * as m0004 from './0004_people.ts';
import * as m0005 from './0005_key_retirement.ts';
import * as m0006 from './0006_incidents_and_feed.ts';
import * as m0007 from './0007_usage_by_address.ts';
import * as m0008 from './0008_oidc_providers.ts';
import * as m0009 from './0009_session_user_agent.ts';
import * as m0010 from './0010_oidc_provider_domains.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: m0001.name, sql: m0001.sql },
  { version: 2, name: m0002.name, sql: m0002.sql },
  { version: 3, name: m0003.name, sql: m0003.sql },
  { version: 4, name: m0004.name, sql: m0004.sql },
  { version: 5, name: m0005.name, sql: m0005.sql },
  { version: 6, name: m0006.name, sql: m0006.sql },
  { version: 7, name: m0007.name, sql: m0007.sql },
  { version: 8, name: m0008.name, sql: m0008.sql },
  { version: 9, name: m0009.name, sql: m0009.sql },
  { version: 10, name: m0010.name, sql: m0010.sql },
];
