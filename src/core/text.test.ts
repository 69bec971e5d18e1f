import { describe, expect, it } from 'vitest';
import { deriveText, expandText, parseTokens, textTokenHashes } from './text.js';

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
