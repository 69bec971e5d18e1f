import { describe, expect, it } from 'vitest';
import { collectGarbage } from './gc.js';

function allocate(): number {
  const big = new Float64Array(32 << 20); // 256 MiB, unreachable once this returns
  big[0] = 1;
  return process.memoryUsage().arrayBuffers;
}

describe('collectGarbage', () => {
  it('runs a full collection that frees unreachable memory', () => {
    expect(collectGarbage()).toBe(true);
    const before = process.memoryUsage().arrayBuffers;
    expect(allocate() - before).toBeGreaterThan(200 << 20);
    expect(collectGarbage()).toBe(true);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 << 20);
  });
});
