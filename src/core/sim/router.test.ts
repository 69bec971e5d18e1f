import { describe, expect, it } from 'vitest';
import { MicroQuota, argmaxRoute, ruleCache, ruleRoute, ruleScores, ruleTool } from './router.js';

const MIN = 60_000_000;

describe('Alice rule router', () => {
  it('scores pattern sets in Swedish and English and normalises them', () => {
    expect(argmaxRoute(ruleScores('Hej Alice!'))).toBe('micro');
    expect(argmaxRoute(ruleScores('Vad blir vädret imorgon?'))).toBe('micro');
    expect(argmaxRoute(ruleScores('Boka ett bord för fyra'))).toBe('planner');
    expect(argmaxRoute(ruleScores('Search for cheap flights'))).toBe('planner');
    expect(argmaxRoute(ruleScores('Förklara varför himlen är blå'))).toBe('deep');
    expect(argmaxRoute(ruleScores('Explain how does inflation work'))).toBe('deep');
    const s = ruleScores('Hej, kan du förklara och sammanfatta?');
    expect(s.micro + s.planner + s.deep).toBeCloseTo(1, 12);
  });

  it('knows word boundaries around å, ä and ö', () => {
    expect(ruleScores('Hallå där').micro).toBeGreaterThan(0);
    // "tackar" is its own word, "tack" inside "tacklar" is not a match.
    expect(ruleScores('tacklar').micro).toBe(0);
    expect(ruleScores('Jämför två bilar').deep).toBeGreaterThan(0);
  });

  it('sends ties and texts without any signal to micro', () => {
    expect(ruleScores('Okänd fråga utan ledtrådar')).toEqual({ micro: 0, planner: 0, deep: 0 });
    expect(argmaxRoute({ micro: 0, planner: 0, deep: 0 })).toBe('micro');
    expect(argmaxRoute({ micro: 0.5, planner: 0.5, deep: 0 })).toBe('micro');
    expect(argmaxRoute({ micro: 0, planner: 0.5, deep: 0.5 })).toBe('planner');
  });

  it('adds length, question marks, digits and URLs', () => {
    const long = 'a '.repeat(70);
    expect(ruleScores(long).deep).toBe(1);
    expect(ruleScores('Vad är 123 + 4?').planner).toBe(1);
    expect(ruleScores('Läs www.example.com').planner).toBe(1);
    expect(ruleScores('Hur? Varför? Hur?').deep).toBe(1);
  });

  it('pushes micro to planner when micro exceeds 20 % of the last 100 decisions within 5 minutes', () => {
    const q = new MicroQuota();
    let t = 0;
    // 20 micro of the last 100: not above 20 %.
    for (let i = 0; i < 100; i++) q.record((t += 1000), i < 80 ? 'planner' : 'micro');
    expect(ruleRoute('Hej!', q, t).route).toBe('micro');
    // One more micro pushes a planner out of the window: 21 of 100.
    q.record((t += 1000), 'micro');
    expect(q.exceeded(t)).toBe(true);
    const r = ruleRoute('Hej!', q, t);
    expect(r).toMatchObject({ route: 'planner', pushed: true });
    // Decisions older than five minutes no longer count.
    expect(q.exceeded(t + 5 * MIN + 1)).toBe(false);
    expect(ruleRoute('Hej!', q, t + 5 * MIN + 1).route).toBe('micro');
  });

  it('sees only decisions within the horizon, even below 100', () => {
    const q = new MicroQuota();
    q.record(0, 'micro');
    expect(q.exceeded(1)).toBe(true);
    expect(q.exceeded(5 * MIN + 1)).toBe(false);
  });
});

describe('tool heuristic and cache rule', () => {
  it('picks the catalog tool with most cue words, ties to the name that sorts first', () => {
    const weather = ['weather.lookup', 'location.get'];
    expect(ruleTool('Kommer det att regna imorgon?', weather)).toBe('weather.lookup');
    expect(ruleTool('Behöver jag paraply?', weather)).toBe('location.get');
    expect(ruleTool('Vad är klockan?', ['time.current', 'calendar'])).toBe('time.current');
    expect(ruleTool('Vilket datum är det idag?', ['time.current', 'calendar'])).toBe('calendar');
    // Remembered answers are the computed ones.
    expect(ruleTool('Behöver jag paraply?', weather)).toBe('location.get');
  });

  it('uses the cache at or above the fixed threshold', () => {
    expect(ruleCache(0.95)).toBe('use');
    expect(ruleCache(0.9)).toBe('use');
    expect(ruleCache(0.899)).toBe('bypass');
    expect(ruleCache(0.5, 0.4)).toBe('use');
  });
});
