import { describe, expect, it } from 'vitest';
import { fnv1a, murmur3, stableStringify, contentHash } from './hash.js';

describe('stable hashes', () => {
  it('murmur3 matches the reference vectors', () => {
    expect(murmur3('', 0)).toBe(0);
    expect(murmur3('', 1)).toBe(0x514e28b7);
    expect(murmur3('hello', 0)).toBe(0x248bfa47);
    expect(murmur3('Hello, world!', 1234)).toBe(0xfaf6cdb3);
    expect(murmur3('The quick brown fox jumps over the lazy dog', 0x9747b28c)).toBe(0x2fa826cd);
  });
  it('murmur3 hashes UTF-8 bytes (Swedish letters)', () => {
    // same bytes, same hash; different letters, different hash
    expect(murmur3('väder', 7)).toBe(murmur3('v\u00e4der', 7));
    expect(murmur3('väder', 7)).not.toBe(murmur3('vader', 7));
  });
  it('fnv1a matches the reference vectors', () => {
    expect(fnv1a('')).toBe(0x811c9dc5);
    expect(fnv1a('a')).toBe(0xe40c292c);
    expect(fnv1a('foobar')).toBe(0xbf9cf968);
  });
  it('stableStringify ignores key order and undefined members', () => {
    expect(stableStringify({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: undefined } })).toBe('{"a":{"d":[1,{"y":2,"z":1}]},"b":1}');
    expect(contentHash({ a: 1, b: 2 })).toBe(contentHash({ b: 2, a: 1 }));
    expect(contentHash({ a: 1 })).not.toBe(contentHash({ a: 2 }));
  });
});
