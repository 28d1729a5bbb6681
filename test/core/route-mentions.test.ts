/**
 * Text that names an operation by method and path (error hints, help, schema
 * descriptions, the dashboard) names one the route table has: a path changed
 * in src/core/api.ts fails here until the prose follows (the compiler catches
 * the client's callers; this catches the words).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { API } from '../../src/core/api.ts';

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : /\.(ts|html)$/.test(name) ? [path] : [];
  });
const ROUTES = Object.values(API).map((route) => ({ method: route.method, pattern: new RegExp(`^${route.path.replace(/:[A-Za-z]+/g, '[^/]+')}$`) }));
// Kubernetes API paths (/api/v1/…, /apis/…/v1/…) are not ours.
const mentions = files('src')
  .filter((file) => file !== join('src', 'core', 'api.ts'))
  .flatMap((file) =>
    [...readFileSync(file, 'utf8').matchAll(/(?<![\w.-]|\/api|\/apis\/[\w.]+)(?:\b(GET|POST|PUT|PATCH|DELETE) )?(\/v1\/[\w/:{}.-]*[\w}])/g)].map((m) => ({ file, method: m[1], path: m[2]!, text: m[0] })),
  );

it('finds the mentions it checks', () => expect(mentions.length).toBeGreaterThan(20));

it.each(mentions.map((m) => [`${m.file}: ${m.text}`, m] as const))('%s is an operation of the route table', (_name, { method, path }) => {
  // A mention ends before a trailing colon or dot of the sentence; a path's own ":id" is a parameter.
  const bare = path.replace(/:$/, '');
  expect(ROUTES.some((route) => route.pattern.test(bare) && (method === undefined || route.method === method))).toBe(true);
});
