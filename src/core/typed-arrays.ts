/**
 * Growing typed arrays: the buffers of builders that append without a per-value object.
 */

/** A number array of one of the typed kinds the builders use. */
type NumberArray = Int32Array | Float64Array;

/** A new array of `length` entries (at least `a.length`) of the same kind, starting with `a`'s entries, the rest 0. */
export function enlarged<T extends NumberArray>(a: T, length: number): T {
  const next = new (a.constructor as new (length: number) => T)(length);
  next.set(a);
  return next;
}
