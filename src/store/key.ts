/**
 * Integer keys for string ids. A unique index over random UUID text slows bulk ingestion several
 * times, so the SQLite adapter keys decisions and turns by a 53-bit hash of the id (an exact
 * JavaScript integer) and checks the stored id on every hit; colliding ids probe the next key.
 * The function is persisted in databases: never change it (a new one needs a migration).
 */

import { fmix32 } from '../core/hash.js';

/** Version of `idKey`, recorded in the database by the migration that introduced it. */
export const ID_KEY_VERSION = 'idkey/v1';

const TWO_POW_32 = 4294967296;
/** Keys live in [0, 2^53). */
export const KEY_SPACE = 9007199254740992;

/** A 53-bit non-negative integer hash of the UTF-16 code units of `id` (two independent 32-bit lanes). */
export function idKey(id: string): number {
  let a = 0x811c9dc5;
  let b = 0x2f6b7e51;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  a = fmix32(a ^ id.length);
  b = fmix32((b + a) ^ Math.imul(id.length, 0x27d4eb2f));
  return (b >>> 11) * TWO_POW_32 + a;
}

/** The next key to probe after a collision. */
export function nextKey(key: number): number {
  return key + 1 >= KEY_SPACE ? 0 : key + 1;
}
