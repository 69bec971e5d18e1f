import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveText } from '../text.js';
import { deriveTextFields } from './text-fast.js';

const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 300 });
const swedish = fc.array(fc.constantFrom('Vad', 'blir', 'vädret', 'i', 'Göteborg', 'imorgon?', 'ÅÄÖ', 'å', 'ß', 'µ', 'ª', '½', '²', '123', 'www.x.se', 'https://a.b', ' ', '  ', '!', '"', 'É', 'ÿ', '\u00d7', '\u00f7', 'x9y', '?'), { maxLength: 120 }).map((a) => a.join(''));

describe('deriveTextFields (fast path of deriveText)', () => {
  it('equals deriveText on Latin-1 text, word-like text and any Unicode', () => {
    for (const arb of [latin1, swedish, fc.string({ unit: 'grapheme', maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 })]) {
      fc.assert(
        fc.property(arb, (s) => {
          expect(deriveTextFields(s)).toEqual(deriveText('text', s));
        }),
        { numRuns: 400, seed: 20250904 },
      );
    }
  });

  it('equals deriveText on edge cases (empty, more than 64 words, hash 0 region, astral letters)', () => {
    const many = Array.from({ length: 100 }, (_, i) => `ord${i}`).join(' ');
    for (const s of ['', ' ', '?', 'a', many, 'İstanbul', 'ﬁne', '𝒜𝒷𝒸 abc', 'Straße STRASSE', 'ÀÉÎÕÜ àéîõü', 'tab\tsep\nline']) {
      expect(deriveTextFields(s)).toEqual(deriveText('text', s));
    }
  });
});
