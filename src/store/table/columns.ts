/**
 * Growable typed columns and a string interner: the building blocks of the columnar decision table.
 * A column doubles its buffer when full, so appending n values costs O(n) and no per-value object.
 */
import { enlarged } from '../../core/typed-arrays.js';

/** A growable Float64 column. */
export class F64Column {
  data: Float64Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Float64Array(capacity);
  }
  push(x: number): number {
    if (this.length === this.data.length) this.grow(this.length + 1);
    this.data[this.length] = x;
    return this.length++;
  }
  /** Reserve `k` slots at the end; returns the offset of the first. */
  reserve(k: number): number {
    if (this.length + k > this.data.length) this.grow(this.length + k);
    const at = this.length;
    this.length += k;
    return at;
  }
  private grow(min: number): void {
    const next = new Float64Array(Math.max(min, this.data.length * 2));
    next.set(this.data.subarray(0, this.length));
    this.data = next;
  }
  /** The values as a right-sized view (shares the buffer). */
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** A growable Int32 column. */
export class I32Column {
  data: Int32Array;
  length = 0;
  constructor(capacity = 1024) {
    this.data = new Int32Array(capacity);
  }
  push(x: number): number {
    if (this.length === this.data.length) this.data = enlarged(this.data, this.data.length * 2);
    this.data[this.length] = x;
    return this.length++;
  }
  view(): Int32Array {
    return this.data.subarray(0, this.length);
  }
}

/** Strings to dense ids (points, action lists, policies): each distinct string is stored once. */
export class Interner {
  readonly values: string[] = [];
  private readonly ids = new Map<string, number>();
  id(s: string): number {
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.values.length;
      this.values.push(s);
      this.ids.set(s, i);
    }
    return i;
  }
  /** The id of `s`, or -1 when it was never interned. */
  find(s: string): number {
    return this.ids.get(s) ?? -1;
  }
}

/**
 * Row numbers by string id in one open-addressing Int32Array (the ids themselves live in the
 * table's id column): a compact hash set for deduplication, about 12 bytes per row. Each row's hash
 * is kept, so growing the table never hashes an id again and a probe compares strings only when
 * the hashes agree; the hash of the last id looked up is reused when that id is then added.
 */
export class IdIndex {
  private slots: Int32Array;
  private mask: number;
  private used = 0;
  private readonly idOf: (row: number) => string;
  /** The hash of each row's id (as a signed 32-bit integer), by row. */
  private rowHash: Int32Array;
  private lastId: string | undefined;
  private lastHash = 0;

  constructor(idOf: (row: number) => string, capacity = 1 << 12) {
    this.idOf = idOf;
    this.slots = new Int32Array(capacity).fill(-1);
    this.mask = capacity - 1;
    this.rowHash = new Int32Array(capacity);
  }

  private hashOf(id: string): number {
    if (id === this.lastId) return this.lastHash;
    const h = hashString(id) | 0;
    this.lastId = id;
    this.lastHash = h;
    return h;
  }

  /** The slot holding `id`, or the empty slot that ends its probe (then `slots[i] < 0`). */
  private find(id: string, h: number): number {
    const slots = this.slots;
    const hashes = this.rowHash;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const row = slots[i]!;
      if (row < 0 || (hashes[row] === h && this.idOf(row) === id)) return i;
    }
  }

  /** The row of `id`, or -1. */
  get(id: string): number {
    return this.slots[this.find(id, this.hashOf(id))]!;
  }

  /** Record `row` under `id` (which must not be present yet). */
  set(id: string, row: number): void {
    if ((this.used + 1) * 2 > this.slots.length) this.rehash();
    const h = this.hashOf(id);
    if (row >= this.rowHash.length) this.rowHash = enlarged(this.rowHash, Math.max(row + 1, this.rowHash.length * 2));
    this.rowHash[row] = h;
    this.place(h, row);
    this.used++;
  }

  /** Forget `id` (backward-shift deletion keeps every other entry reachable). */
  delete(id: string): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = this.find(id, this.hashOf(id));
    if (slots[i]! < 0) return;
    this.used--;
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const row = slots[j]!;
      if (row < 0) break;
      const home = this.rowHash[row]! & mask;
      // Move the entry at j into the hole at i when its home does not lie cyclically in (i, j].
      if (i <= j ? home <= i || home > j : home <= i && home > j) {
        slots[i] = row;
        i = j;
      }
    }
    slots[i] = -1;
  }

  private place(h: number, row: number): void {
    for (let i = h & this.mask; ; i = (i + 1) & this.mask) {
      if (this.slots[i]! < 0) {
        this.slots[i] = row;
        return;
      }
    }
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2).fill(-1);
    this.mask = this.slots.length - 1;
    for (const row of old) if (row >= 0) this.place(this.rowHash[row]!, row);
  }
}

/** FNV-1a over the UTF-16 code units, finalised (good spread in the low bits). */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}
