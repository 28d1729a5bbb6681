/**
 * The dashboard's addresses: everything after `#/` is `<tab>/<rest…>?<query>`,
 * e.g. `#/keys`, `#/keys/key_…` (a key's page), `#/audit?action=key.revoked`.
 * One parser and one builder, so links and views agree; the query holds a
 * view's filters, so a filtered view can be linked and survives a reload.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  /** The section, e.g. "keys" ('' for the default one). */
  tab: string;
  /** Path segments after the section, decoded: ["key_…"] on a key's page. */
  rest: string[];
  query: URLSearchParams;
}

export function parseRoute(hash: string): Route {
  const text = hash.replace(/^#\/?/, '');
  const mark = text.indexOf('?');
  const path = mark < 0 ? text : text.slice(0, mark);
  const [tab = '', ...rest] = path.split('/').filter(Boolean).map(safeDecode);
  return { tab, rest, query: new URLSearchParams(mark < 0 ? '' : text.slice(mark + 1)) };
}

const safeDecode = (segment: string): string => {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
};

/** The `#/…` link to a section, a path under it and a query (empty values left out). */
export function href(tab: string, rest: readonly string[] = [], query: Record<string, string | undefined> = {}): string {
  const path = [tab, ...rest].map(encodeURIComponent).join('/');
  const params = new URLSearchParams(Object.entries(query).filter((entry): entry is [string, string] => Boolean(entry[1])));
  const search = params.toString();
  return `#/${path}${search ? `?${search}` : ''}`;
}

/** Replaces the current address without a history entry (filters changing as one types). */
export const replaceRoute = (link: string): void => {
  if (location.hash !== link) history.replaceState(null, '', link);
};

/** The current route, following the address bar. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}
