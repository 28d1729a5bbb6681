import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { bumpRotationToken, nextRotationToken, parseRotationTokens, readRotationTokens, RotationPolicy, RotationTokensError } from '../../src/constructs/index.ts';

const NOW = new Date('2026-11-27T10:00:00Z');

describe('RotationPolicy', () => {
  it('presets and their AWS rules', () => {
    expect(RotationPolicy.production().toSpec()).toEqual({ interval: '90d' });
    expect(RotationPolicy.development().toSpec()).toEqual({ interval: '180d' });
    expect(RotationPolicy.every('1w').toSpec()).toEqual({ interval: '1w' });
    expect(RotationPolicy.manual().toSpec()).toEqual({ suspend: true });
    expect(RotationPolicy.production().toAwsRotationRules()).toEqual({ ok: true, rules: { automaticallyAfterDays: 90 } });
    expect(RotationPolicy.every('5h').toAwsRotationRules()).toEqual({ ok: true, rules: { scheduleExpression: 'rate(5 hours)' } });
    expect(RotationPolicy.every('3h').toAwsRotationRules().ok).toBe(false);
    expect(RotationPolicy.every('0').toAwsRotationRules().ok).toBe(false);
    expect(String(RotationPolicy.every('30d'))).toBe('every 30d');
  });
});

describe('rotation tokens file', () => {
  const json = `{
  "tokens": {
    "payments-api": "2026-11-01-1",
    "billing": "b-7"
  },
  "note": "bump a token to rotate that key once"
}
`;

  it('parses JSON and YAML; a missing file holds no tokens', () => {
    expect(parseRotationTokens(json)).toEqual({ 'payments-api': '2026-11-01-1', billing: 'b-7' });
    expect(parseRotationTokens('# keys\ntokens:\n  payments-api: "2026-11-01-1"\n')).toEqual({ 'payments-api': '2026-11-01-1' });
    expect(parseRotationTokens('')).toEqual({});
    expect(parseRotationTokens('{}')).toEqual({});
    expect(readRotationTokens(join(tmpdir(), 'no-such-dir-keyward', 'keyward-rotation.json'))).toEqual({});
    const dir = mkdtempSync(join(tmpdir(), 'keyward-tokens-'));
    writeFileSync(join(dir, 'keyward-rotation.json'), json);
    expect(readRotationTokens(join(dir, 'keyward-rotation.json')).billing).toBe('b-7');
  });

  it('rejects what is not a token map', () => {
    expect(() => parseRotationTokens('{"tokens": {"a": 1}}')).toThrow(RotationTokensError);
    expect(() => parseRotationTokens('{"tokens": {"a": ""}}')).toThrow(/non-empty string/);
    expect(() => parseRotationTokens('tokens:\n  a: 2026-11-27\n')).not.toThrow(); // YAML 1.2: a string
    expect(() => parseRotationTokens('[1]')).toThrow(/must hold an object/);
    expect(() => parseRotationTokens('{"tokens": ')).toThrow(/not valid JSON/);
  });

  it('nextRotationToken: YYYY-MM-DD-N, counting up within a day', () => {
    expect(nextRotationToken(undefined, NOW)).toBe('2026-11-27-1');
    expect(nextRotationToken('2026-11-27-1', NOW)).toBe('2026-11-27-2');
    expect(nextRotationToken('2026-11-01-4', NOW)).toBe('2026-11-27-1');
    expect(nextRotationToken('custom', NOW)).toBe('2026-11-27-1');
  });

  it('bumps one value in JSON, keeping every other byte', () => {
    const out = bumpRotationToken(json, 'payments-api', undefined, { now: NOW });
    expect(out).toBe(json.replace('"2026-11-01-1"', '"2026-11-27-1"'));
    expect(bumpRotationToken(out, 'payments-api', undefined, { now: NOW })).toBe(json.replace('"2026-11-01-1"', '"2026-11-27-2"'));
    expect(bumpRotationToken(json, 'billing', 'b-8')).toBe(json.replace('"b-7"', '"b-8"'));
    expect(bumpRotationToken(json, 'billing', 'b-7')).toBe(json); // already that token
  });

  it('inserts a new key in the file\'s own style', () => {
    expect(bumpRotationToken(json, 'search', 's-1')).toBe(json.replace('"billing": "b-7"', '"billing": "b-7",\n    "search": "s-1"'));
    const tabs = '{\n\t"tokens": {\n\t\t"a": "1"\n\t}\n}\n';
    expect(bumpRotationToken(tabs, 'b', '2')).toBe('{\n\t"tokens": {\n\t\t"a": "1",\n\t\t"b": "2"\n\t}\n}\n');
    expect(bumpRotationToken('{"tokens":{"a":"1"}}', 'b', '2')).toBe('{"tokens":{"a":"1", "b":"2"}}');
    expect(bumpRotationToken('{\n  "tokens": {}\n}\n', 'a', '1')).toBe('{\n  "tokens": {\n    "a": "1"\n  }\n}\n');
    expect(bumpRotationToken('{\n  "version": 1\n}\n', 'a', '1')).toBe('{\n  "version": 1,\n  "tokens": {\n    "a": "1"\n  }\n}\n');
    expect(bumpRotationToken('{}', 'a', '1')).toBe('{ "tokens": {"a":"1"} }');
    expect(bumpRotationToken('', 'a', '1')).toBe('{\n  "tokens": {\n    "a": "1"\n  }\n}\n');
    // Key names with JSON escapes are matched by value.
    expect(bumpRotationToken('{"tokens": {"ns/\\u0061": "1"}}', 'ns/a', '2')).toBe('{"tokens": {"ns/\\u0061": "2"}}');
    for (const text of [json, tabs, '{"tokens":{"a":"1"}}', '{}']) expect(() => JSON.parse(bumpRotationToken(text, 'z', 'q'))).not.toThrow();
  });

  it('bumps YAML keeping comments, quoting dates', () => {
    const yaml = '# bump to rotate\ntokens:\n  payments-api: "2026-11-01-1" # prod\n  billing: b-7\n';
    const out = bumpRotationToken(yaml, 'payments-api', undefined, { now: NOW });
    expect(out).toBe(yaml.replace('2026-11-01-1', '2026-11-27-1'));
    const added = bumpRotationToken(yaml, 'search', '2026-12-01');
    expect(added).toContain('# bump to rotate');
    expect(added).toContain('# prod');
    expect(added).toContain('search: "2026-12-01"');
    expect(parseYaml(added, { version: '1.1' }).tokens.search).toBe('2026-12-01');
    expect(bumpRotationToken('', 'a', '1', { format: 'yaml' })).toBe('tokens:\n  a: "1"\n');
  });

  it('refuses bad input', () => {
    expect(() => bumpRotationToken(json, '', 'x')).toThrow(/key name/);
    expect(() => bumpRotationToken(json, 'a', 'x'.repeat(254))).toThrow(/at most 253/);
  });
});
