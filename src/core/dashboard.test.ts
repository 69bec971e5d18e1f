import { describe, expect, it } from 'vitest';
import { selectionsOfEvaluation } from './dashboard.js';

const candidates = [
  { name: 'configured', algorithm: 'linucb', value: 0.7, lower: 0.65, chosen: false, note: 'lower bound 0.65 ≤ 0.68 of sparse', changes: {}, ci: [0.65, 0.75] },
  { name: 'sparse', algorithm: 'sparse', value: 0.72, lower: 0.68, chosen: true, note: 'chosen', changes: { algorithm: 'sparse' }, ci: [0.68, 0.76] },
  { name: 'rules', algorithm: 'constant', value: null, lower: null, chosen: false, note: 'skipped', changes: {}, ci: null },
];
const brief = candidates.map(({ name, algorithm, value, lower }) => ({ name, algorithm, value, lower }));

describe('selections recorded in a bundle', () => {
  it('reads the pipeline shape (point → compact evaluation) and the shadow-retrain shape (points → report)', () => {
    const pipeline = { route: { n: 10, estimates: {}, selection: { chosen: 'sparse', candidates: brief } }, tool: { n: 5, estimates: {} } };
    expect(selectionsOfEvaluation(pipeline)).toEqual({ route: { chosen: 'sparse', candidates: brief } });
    const shadow = { gates: { passed: true }, chosen: 'eps-0.05', points: { route: { gates: null, summary: {}, selection: { chosen: 'sparse', candidates, estimator: 'dr' } } } };
    expect(selectionsOfEvaluation(shadow)).toEqual({ route: { chosen: 'sparse', candidates: brief } });
  });

  it('gives nothing for a bundle without a selection or with a malformed one', () => {
    for (const e of [undefined, null, 'x', {}, { route: { selection: { chosen: 3 } } }, { points: { route: { selection: { chosen: 'a', candidates: 'no' } } } }]) {
      expect(selectionsOfEvaluation(e)).toEqual({});
    }
  });
});
