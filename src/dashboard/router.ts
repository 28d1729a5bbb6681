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

/** replaceState fires no hashchange: replaceRoute announces its change with this event instead. */
const ROUTE_REPLACED = 'keyward:route-replaced';

/**
 * Replaces the current address without a history entry (filters changing as
 * one types). Views keep no copy of what the address says: they read the
 * route, and change it only through here or a link, so the address and the
 * view never disagree (a view that wrote its own state back to the address
 * once overwrote a deeper address with its own).
 */
export const replaceRoute = (link: string): void => {
  if (location.hash === link) return;
  history.replaceState(null, '', link);
  dispatchEvent(new Event(ROUTE_REPLACED));
};

/** The current route, following the address bar. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    addEventListener(ROUTE_REPLACED, onChange);
    return () => {
      removeEventListener('hashchange', onChange);
      removeEventListener(ROUTE_REPLACED, onChange);
    };
  }, []);
  return route;
}
