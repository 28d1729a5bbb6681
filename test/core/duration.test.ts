import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/core/duration.ts';
import { rotationDueAt, successorName } from '../../src/core/rotation.ts';

describe('durations', () => {
  it('parses Go-style durations plus days and weeks', () => {
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('2160h')).toBe(90 * 86_400_000);
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
  });

  it('rejects what is not a duration', () => {
    for (const bad of ['', '5', '-1h', '1.5h', '1y', 'h', '24 h', '99999d']) expect(() => parseDuration(bad)).toThrow(RangeError);
  });

  it('formats the shortest readable form', () => {
    expect(formatDuration(90 * 86_400_000)).toBe('90d');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(0)).toBe('0');
  });
});

describe('rotation policy', () => {
  it('follows the manual: production 90 days, development 180, per-organization overrides', () => {
    const created = new Date('2026-01-01T00:00:00Z');
    expect(rotationDueAt(created, 'production').toISOString()).toBe('2026-04-01T00:00:00.000Z');
    expect(rotationDueAt(created, 'development').toISOString()).toBe('2026-06-30T00:00:00.000Z');
    expect(rotationDueAt(created, 'staging', { staging: 30 }).toISOString()).toBe('2026-01-31T00:00:00.000Z');
  });

  it('names successors clearly', () => {
    expect(successorName('Production Server')).toBe('Production Server v2');
    expect(successorName('Production Server v2')).toBe('Production Server v3');
    expect(successorName('v9')).toBe('v9 v2');
  });
});
