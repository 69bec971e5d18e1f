/**
 * The `policy` field the decision engine writes on every logged decision,
 * `umbra:<slice>:<how>:<version>[#u=<key hash>]`: which slice served it, how (served, error,
 * timeout, unavailable), which version, and the hash of its sticky key. The canary judge, the
 * drift watch, status and the demo read the slices back from the log with `parseServedTag`.
 */

/** Parsed `policy` field of a logged decision. */
export interface ServedTag {
  slice: string;
  how: string;
  version: string;
  /** Hash of the sticky key (the randomisation unit), when the request had one. */
  unit?: string;
}

/** The `policy` field for a decision (the inverse of `parseServedTag`). */
export function servedTag(t: ServedTag): string {
  return `umbra:${t.slice}:${t.how}:${t.version}${t.unit === undefined ? '' : `#u=${t.unit}`}`;
}

/** Parse the `policy` field the decision engine writes; undefined for other producers. */
export function parseServedTag(policy: string | undefined): ServedTag | undefined {
  if (policy === undefined || !policy.startsWith('umbra:')) return undefined;
  const hash = policy.indexOf('#u=');
  const head = hash >= 0 ? policy.slice(0, hash) : policy;
  const [, slice, how, ...rest] = head.split(':');
  if (slice === undefined || how === undefined || rest.length === 0) return undefined;
  return { slice, how, version: rest.join(':'), ...(hash >= 0 ? { unit: policy.slice(hash + 3) } : {}) };
}
