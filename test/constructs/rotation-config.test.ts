/**
 * The rotation Lambda's settings travel as environment variables named in
 * one table (ROTATION_ENV): what the construct writes, the Lambda reads
 * back unchanged, and it reads no variable outside the table.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { configFromEnv, ROTATION_ENV, rotationEnvironment, type RotationConfig } from '../../src/constructs/aws/rotation-config.ts';
import { REVOKE_OLD_MODES } from '../../src/core/retirement.ts';
import { ENVIRONMENTS } from '../../src/core/rotation.ts';

const text = fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !s.includes(','));
const config: fc.Arbitrary<RotationConfig> = fc.record(
  {
    url: fc.webUrl(),
    adminKeySecretArn: text,
    keyName: text,
    role: text,
    environment: fc.constantFrom(...ENVIRONMENTS),
    overlap: fc.constantFrom('24h', '2h', '30m', '7d'),
    ipAllowlist: fc.array(text, { maxLength: 4 }),
    revokeOld: fc.constantFrom(...REVOKE_OLD_MODES),
    quietPeriod: fc.constantFrom('10m', '20m', '1h'),
  },
  { requiredKeys: ['url', 'adminKeySecretArn', 'keyName', 'role', 'environment', 'overlap', 'ipAllowlist', 'revokeOld'] },
);

describe('the rotation Lambda environment', () => {
  it('what rotationEnvironment writes, configFromEnv reads back unchanged', () => {
    fc.assert(
      fc.property(config, (c) => {
        expect(configFromEnv(rotationEnvironment(c))).toEqual(c);
      }),
      { numRuns: 500 },
    );
  });

  it('every setting has its variable, and configFromEnv reads only those', () => {
    const env = rotationEnvironment({ url: 'https://k.example', adminKeySecretArn: 'arn', keyName: 'n', role: 'viewer', environment: 'staging', overlap: '2h', ipAllowlist: [], revokeOld: 'whenUnused', quietPeriod: '20m' });
    expect(Object.keys(env).sort()).toEqual(Object.values(ROTATION_ENV).sort());
    const read = new Set<string>();
    configFromEnv(new Proxy(env, { get: (target, name) => (typeof name === 'string' && read.add(name), target[name as string]) }));
    expect([...read].sort()).toEqual(Object.values(ROTATION_ENV).sort());
  });
});
