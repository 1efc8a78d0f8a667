/**
 * The `filters` of `GET /networks` and `POST /networks/prune` as Docker applies them
 * (moby daemon/network/filter.go `FilterNetworks`, filters.Args `ExactMatch`/`Match`/
 * `MatchKVList`). Pure: the daemon's route filters with it, and the CLI re-applies the keys it
 * can check on a list it got back (idempotent on an already filtered list).
 *
 * - `driver`, `scope`: exact match with any of the values;
 * - `name`, `id`: the value as it is, or as an unanchored regular expression (`name=web` matches
 *   `web`, `myweb`, `web2`);
 * - `label`: `key` (present) or `key=value` (equal); every label filter must hold;
 * - `type`: `builtin` (bridge, host, none, default, ingress) or `custom`, any of the values;
 * - `dangling`: `true`/`1` keeps custom networks without containers, `false`/`0` the others.
 */
import { InvalidArgument } from './errors.js';

/** filters.Args: filter key → set of values (the JSON `{"name":{"web":true}}` form, flattened). */
export type NetworkFilters = Readonly<Record<string, readonly string[]>>;

/** The fields filters look at, as in the Engine API's network objects. */
export interface FilterableNetwork {
  Name: string;
  Id: string;
  Driver?: string;
  Scope?: string;
  Labels?: Readonly<Record<string, string>> | null;
  /** Only needed for `dangling` (GET /networks does not list containers in Docker). */
  Containers?: Readonly<Record<string, unknown>> | null;
}

export const NETWORK_FILTER_KEYS: readonly string[] = ['dangling', 'driver', 'id', 'label', 'name', 'scope', 'type'];

/** Names of the networks Docker predefines (`runconfig.IsPreDefinedNetwork`). */
export function isPredefinedNetwork(name: string): boolean {
  return ['bridge', 'host', 'none', 'default', 'ingress'].includes(name);
}

/**
 * Decodes the `filters` query parameter: `{"key":{"value":true}}` or the older
 * `{"key":["value"]}`. Undefined or empty means no filters.
 */
export function parseFiltersParam(param: string | undefined): NetworkFilters {
  if (param === undefined || param.trim() === '') return {};
  let raw: unknown;
  try {
    raw = JSON.parse(param);
  } catch (e) {
    throw new InvalidArgument(`invalid filter: ${param}`, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidArgument(`invalid filter: ${param}`);
  const out: Record<string, string[]> = {};
  for (const [key, values] of Object.entries(raw as Record<string, unknown>)) {
    if (Array.isArray(values)) out[key] = values.map(String);
    else if (values !== null && typeof values === 'object') out[key] = Object.keys(values).filter((v) => (values as Record<string, unknown>)[v] === true);
    else throw new InvalidArgument(`invalid filter: ${param}`);
  }
  return out;
}

/** Rejects keys Docker does not accept for networks: `invalid filter 'foo'`. */
export function validateNetworkFilters(filters: NetworkFilters): void {
  for (const key of Object.keys(filters)) {
    if (!NETWORK_FILTER_KEYS.includes(key)) throw new InvalidArgument(`invalid filter '${key}'`);
  }
  const dangling = filters['dangling'] ?? [];
  if (dangling.length > 1) throw new InvalidArgument('got more than one value for filter key "dangling"');
  if (dangling.length === 1 && !['0', '1', 'true', 'false'].includes(dangling[0] as string)) {
    throw new InvalidArgument('invalid value for filter \'dangling\', must be "true" (or "1"), or "false" (or "0")');
  }
  for (const t of filters['type'] ?? []) {
    if (t !== 'builtin' && t !== 'custom') throw new InvalidArgument(`invalid filter: 'type'='${t}'`);
  }
}

function exactMatch(values: readonly string[] | undefined, source: string): boolean {
  return values === undefined || values.length === 0 || values.includes(source);
}

/**
 * filters.Args.Match: true without values, for an exact value, or for any value that is a
 * regular expression matching `source` anywhere (unanchored). Volumes use it for `name` too.
 */
export function filterMatch(values: readonly string[] | undefined, source: string): boolean {
  if (exactMatch(values, source)) return true;
  for (const v of values ?? []) {
    try {
      if (new RegExp(v, 'u').test(source)) return true;
    } catch {
      // not a valid regular expression: it only matched exactly
    }
  }
  return false;
}

/**
 * filters.Args.MatchKVList: every `key` / `key=value` holds in `labels` (true without values;
 * false for no labels at all).
 */
export function filterMatchKVList(values: readonly string[] | undefined, labels: Readonly<Record<string, string>> | null | undefined): boolean {
  if (values === undefined || values.length === 0) return true;
  const src = labels ?? {};
  if (Object.keys(src).length === 0) return false;
  for (const v of values) {
    const eq = v.indexOf('=');
    const key = eq >= 0 ? v.slice(0, eq) : v;
    if (!Object.hasOwn(src, key)) return false;
    if (eq >= 0 && src[key] !== v.slice(eq + 1)) return false;
  }
  return true;
}

/**
 * The networks that pass `filters`, in their order. Throws InvalidArgument for keys or values
 * Docker rejects. `skip` names keys to leave out (the CLI skips `dangling`: a listed network
 * does not say whether containers use it).
 */
export function filterNetworks<T extends FilterableNetwork>(networks: readonly T[], filters: NetworkFilters, skip: readonly string[] = []): T[] {
  validateNetworkFilters(filters);
  const has = (k: string): boolean => !skip.includes(k) && (filters[k]?.length ?? 0) > 0;
  let out = networks.filter((n) => {
    if (has('driver') && !exactMatch(filters['driver'], n.Driver ?? '')) return false;
    if (has('name') && !filterMatch(filters['name'], n.Name)) return false;
    if (has('id') && !filterMatch(filters['id'], n.Id)) return false;
    if (has('label') && !filterMatchKVList(filters['label'], n.Labels)) return false;
    if (has('scope') && !exactMatch(filters['scope'], n.Scope ?? '')) return false;
    return true;
  });
  if (has('dangling')) {
    const danglingOnly = ['1', 'true'].includes(filters['dangling']?.[0] ?? '');
    out = out.filter((n) => {
      const used = Object.keys(n.Containers ?? {}).length > 0;
      return danglingOnly ? !isPredefinedNetwork(n.Name) && !used : isPredefinedNetwork(n.Name) || used;
    });
  }
  if (has('type')) {
    // Docker appends the matches of each type value in turn.
    const types = filters['type'] ?? [];
    out = types.flatMap((t) => out.filter((n) => isPredefinedNetwork(n.Name) === (t === 'builtin')));
  }
  return out;
}
