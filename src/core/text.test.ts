import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TEXT_CHARS, deriveText, deriveTextFields, deriveTextFieldsFast, deriveTextFieldsReference, expandText, parseTokens, storableContext, textGramHashes, textTokenHashes } from './text.js';

describe('text expansion', () => {
  it('derives counts and hashed tokens, never the raw text', () => {
    const d = deriveText('text', 'Vad blir vädret i Göteborg imorgon? Ring 112 www.smhi.se');
    expect(d.text_qmarks).toBe(1);
    expect(d.text_digits).toBe(3);
    expect(d.text_url).toBe(true);
    expect(d.text_words).toBe(11);
    expect(JSON.stringify(d)).not.toMatch(/Göteborg|vädret/i);
    expect(parseTokens(d.text_tokens as string)).toEqual(textTokenHashes('Vad blir vädret i Göteborg imorgon? Ring 112 www.smhi.se'));
  });
  it('derives word bigrams and boundary-marked character 4-grams as grams', () => {
    const fnv = (s: string, seed: number): number => {
      let h = (0x811c9dc5 ^ seed) >>> 0;
      for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    // "hej" → <hej, hej>; "du" → <du> (a two-letter word is one 4-gram with its marks); then the bigram "hej du".
    expect(textGramHashes('Hej du')).toEqual([fnv('<hej', 4), fnv('hej>', 4), fnv('<du>', 4), fnv('hej du', 3)]);
    expect(parseTokens(deriveTextFields('Hej du').text_grams)).toEqual(textGramHashes('Hej du'));
    expect(textGramHashes('')).toEqual([]);
    expect(deriveTextFields('a').text_grams).toBe('');
    // Words past MAX_WORDS count for neither tokens nor grams.
    const long = Array.from({ length: 80 }, (_, i) => `w${i}`).join(' ');
    expect(textGramHashes(long).length).toBe(textGramHashes(long.split(' ').slice(0, 64).join(' ')).length);
  });
  it('is case-insensitive and NFC-normalised', () => {
    expect(textTokenHashes('VÄDER')).toEqual(textTokenHashes('va\u0308der'));
  });
  it('expandText is idempotent and keeps other keys', () => {
    const c = { text: 'hej hej', lang: 'sv' };
    const e = expandText(c);
    expect(e.text).toBeUndefined();
    expect(e.lang).toBe('sv');
    expect(expandText(e)).toEqual(e);
    expect(expandText(c, ['text'], true).text).toBe('hej hej');
  });
});

describe('the fast path of the text features', () => {
  const latin1 = fc.string({ unit: fc.integer({ min: 0, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 300 });
  const pieces = [
    'Vad', 'blir', 'vädret', 'i', 'Göteborg', 'imorgon?', 'ÅÄÖ', 'ß', 'µ', 'ª', '½', '²', '123', 'www.x.se', 'https://a.b', ' ', '!', 'É', 'ÿ', '\u00d7', 'x9y', '?',
    '😀', '👍🏽', '🇸🇪', 'Привет', 'МИР', 'Ελλάδα', 'ΣΟΦΙΑ', 'ς', '東京', '日本語', 'עברית', 'مرحبا', 'हिन्दी', 'İstanbul', 'ǅ', 'ﬁ', '𝒜𝒷', '𐐀𐐨', 'e\u0301', 'Å', '٣', '\u0130', 'ǈ', 'Ⅻ', 'ⓐⒶ',
  ];
  const mixed = fc.array(fc.constantFrom(...pieces), { maxLength: 100 }).map((a) => a.join(''));
  const arbitraries = {
    latin1,
    mixed,
    grapheme: fc.string({ unit: 'grapheme', maxLength: 80 }),
    binary: fc.string({ unit: 'binary', maxLength: 80 }),
    composite: fc.string({ unit: 'grapheme-composite', maxLength: 60 }),
  };

  it('gives exactly the reference result on any text (property)', () => {
    for (const [name, arb] of Object.entries(arbitraries)) {
      const seed = 20250904;
      fc.assert(
        fc.property(arb, (s) => {
          expect(deriveTextFields(s), `${name}, seed ${seed}`).toEqual(deriveTextFieldsReference(s));
          const fast = deriveTextFieldsFast(s);
          if (fast !== undefined) expect(fast).toEqual(deriveTextFieldsReference(s));
        }),
        { numRuns: 400, seed },
      );
    }
  });

  it('gives the reference result on edge cases, and deriveText under any key', () => {
    const many = Array.from({ length: 100 }, (_, i) => `ord${i}`).join(' ');
    for (const s of ['', ' ', '?', 'a', many, 'İstanbul', 'ﬁne', '𝒜𝒷𝒸 abc', 'Straße STRASSE', 'ÀÉÎÕÜ àéîõü', 'tab\tsep\nline', 'ΟΔΟΣ', 'x'.repeat(5000), 'é '.repeat(3000)]) {
      // texts past MAX_TEXT_CHARS are featurised from their first MAX_TEXT_CHARS characters; the length stays whole
      expect(deriveTextFields(s)).toEqual({ ...deriveTextFieldsReference(s.slice(0, MAX_TEXT_CHARS)), text_len: s.length });
    }
    expect(deriveText('q', 'Hej? 42')).toEqual({ q_tokens: deriveTextFields('Hej? 42').text_tokens, q_grams: deriveTextFields('Hej? 42').text_grams, q_len: 7, q_words: 2, q_qmarks: 1, q_digits: 2, q_url: false });
  });

  it('bounds the work on a huge text: only its first MAX_TEXT_CHARS characters are featurised, never half a surrogate pair', () => {
    const huge = `${'ord '.repeat(250_000)}slut`; // a million characters
    const f = deriveTextFields(huge);
    expect(f.text_len).toBe(huge.length);
    expect(f).toEqual({ ...deriveTextFields(huge.slice(0, MAX_TEXT_CHARS)), text_len: huge.length });
    const emoji = `${'a'.repeat(MAX_TEXT_CHARS - 1)}😀tail`;
    expect(deriveTextFields(emoji)).toEqual({ ...deriveTextFieldsReference('a'.repeat(MAX_TEXT_CHARS - 1)), text_len: emoji.length });
  });

  it('hashes every long string of a context as free text, whatever its key, and leaves short ones and expanded fields alone', () => {
    const long = 'Jag heter Anna Svensson och bor på Storgatan 12 i Västerås, ring mig på 070-1234567';
    const ctx = { query: long, note: long, user_text: long, lang: 'sv', intent: 'search', user_id: '9a8d4003-6432-4e5d-bea9-ddd34e001193', n: 3 };
    const out = storableContext(ctx, { text_keys: ['text'], store_text: false, free_text_chars: 64 });
    for (const k of ['query', 'note', 'user_text']) {
      expect(out[k]).toBeUndefined();
      expect(out[`${k}_tokens`]).toBe(deriveTextFields(long).text_tokens);
      expect(out[`${k}_len`]).toBe(long.length);
    }
    expect(JSON.stringify(out)).not.toContain('Svensson');
    expect(out).toMatchObject({ lang: 'sv', intent: 'search', user_id: ctx.user_id, n: 3 });
    expect(storableContext(out, { text_keys: ['text'], store_text: false, free_text_chars: 64 })).toEqual(out); // idempotent
    expect(storableContext(ctx, { text_keys: ['text'], store_text: true, free_text_chars: 64 }).query).toBe(long);
  });

  it('stays exact when its bounded word cache fills and is emptied', () => {
    for (let t = 0; t < 700; t++) {
      const s = Array.from({ length: 60 }, (_, i) => `Ord${t * 60 + i}`).join(' ');
      if (t % 50 === 0 || t > 540) expect(deriveTextFields(s), `text ${t}`).toEqual(deriveTextFieldsReference(s));
      else deriveTextFields(s);
    }
    expect(deriveTextFields('Ord1 ord1 ORD1')).toEqual(deriveTextFieldsReference('Ord1 ord1 ORD1'));
  });

  it('covers emoji and other scripts, and leaves only what it cannot prove exact to the reference', () => {
    for (const s of ['Vad blir vädret? 😀👍🏽', 'Привет, МИР 2025', 'Ελλάδα', '東京の天気は？', 'مرحبا بالعالم', '𝒜𝒷 𐐀𐐨']) expect(deriveTextFieldsFast(s), s).toBeDefined();
    // Not NFC, a context-dependent lower case (final sigma), a lower case of two code points.
    for (const s of ['e\u0301', 'ΟΔΟΣ', 'İstanbul']) expect(deriveTextFieldsFast(s), s).toBeUndefined();
  });
});
