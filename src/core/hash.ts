/**
 * Stable hashes. Feature hashing, bucketing and replayable random draws depend on these never
 * changing between versions, processes or machines: they hash the UTF-8 bytes of a string.
 */
import { createHash, createHmac } from 'node:crypto';

const encoder = new TextEncoder();

/** UTF-8 bytes of a string, with an allocation-free fast path for ASCII. */
function utf8(s: string): Uint8Array {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (!ascii) return encoder.encode(s);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** MurmurHash3 (x86, 32-bit) of the UTF-8 bytes of `s`, as an unsigned 32-bit integer. */
export function murmur3(s: string, seed = 0): number {
  const bytes = utf8(s);
  const len = bytes.length;
  const nblocks = len >>> 2;
  let h = seed >>> 0;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  for (let i = 0; i < nblocks; i++) {
    const o = i << 2;
    let k = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>> 0;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = nblocks << 2;
  const rem = len & 3;
  if (rem > 0) {
    let k1 = 0;
    if (rem === 3) k1 ^= bytes[tail + 2]! << 16;
    if (rem >= 2) k1 ^= bytes[tail + 1]! << 8;
    k1 ^= bytes[tail]!;
    k1 = Math.imul(k1, c1);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, c2);
    h ^= k1;
  }
  return fmix32(h ^ len);
}

/** MurmurHash3's 32-bit finaliser: mixes all bits of `h` (used alone to hash integer ids). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** FNV-1a (32-bit) of the UTF-8 bytes of `s`, as an unsigned 32-bit integer. */
export function fnv1a(s: string): number {
  const bytes = utf8(s);
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * JSON with object keys sorted at every depth, so that equal values always give equal text.
 * Used for content hashes of configs and artifacts. `undefined` members are dropped as JSON does.
 */
export function stableStringify(value: unknown): string {
  return JSON.stringify(sortDeep(value));
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortDeep(x);
    }
    return out;
  }
  return v;
}

/** Hex SHA-256 of a string (content addressing: artifacts, configs, audit chain). */
export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** Hex HMAC-SHA-256 of a string under a key (the audit chain's keyed seal). */
export function hmacSha256Hex(key: Uint8Array, s: string): string {
  return createHmac('sha256', key).update(s).digest('hex');
}

/** Short content hash of any JSON value (first `len` hex digits of SHA-256 of its stable JSON). */
export function contentHash(value: unknown, len = 16): string {
  return sha256Hex(stableStringify(value)).slice(0, len);
}
