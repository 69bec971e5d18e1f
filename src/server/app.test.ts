/**
 * The HTTP shell alone: routes parse, call the engine and the rollout, and map errors to their
 * codes, with an engine that answers, hangs or throws as each test needs (no policy workers).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { DecideRequestParsed, DecideResponse, OutcomeRequest } from '../core/api.js';
import { settingsOf } from '../core/settings.js';
import { Bundles } from '../services/artifacts/bundles.js';
import { DecisionEngine } from '../services/decisions/engine.js';
import { RolloutService } from '../services/rollout/state.js';
import { MemoryStore } from '../store/memory.js';
import { buildApp } from './app.js';
import { persistAlert } from '../services/monitoring/alerts.js';

const settings = settingsOf({ server: { request_deadline_ms: 50 } });
const body = { point: 'route', context: { text: 'hej' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'u1', id: 'd1' };

/** An engine whose `decide` does what the test says. */
function fakeEngine(decide: (r: DecideRequestParsed) => Promise<DecideResponse>): { engine: DecisionEngine; outcomes: OutcomeRequest[]; fallbacks: DecideResponse[] } {
  const outcomes: OutcomeRequest[] = [];
  const fallbacks: DecideResponse[] = [];
  const stats = { decisions: 0, bySlice: {}, byServedBy: {}, fallbacks: {}, outcomes: 0, logged: 0, logDropped: 0, logErrors: 0, latencyUs: [] };
  const fake = {
    decide,
    outcome: (r: OutcomeRequest) => void outcomes.push(r),
    knowsPoint: (p: string) => ['route', 'tool', 'cache'].includes(p),
    points: ['cache', 'route', 'tool'],
    logFallback: (_r: DecideRequestParsed, a: DecideResponse) => void fallbacks.push(a),
    refresh: async () => undefined,
    stats,
    loadFailures: {},
    shadow: { active: [], stats: { scored: 0, dropped: 0, shed: 0, errors: 0, timeouts: 0, queueDepth: 0, byCandidate: {} } },
  };
  return { engine: fake as unknown as DecisionEngine, outcomes, fallbacks };
}

describe('decision service HTTP shell', () => {
  let app: FastifyInstance;
  let store: MemoryStore;
  let decide: (r: DecideRequestParsed) => Promise<DecideResponse>;
  let outcomes: OutcomeRequest[];
  let fallbacks: DecideResponse[];

  beforeEach(async () => {
    store = new MemoryStore();
    decide = async (r) => ({ id: r.id ?? 'x', action: 'deep', propensity: 0.9, servedBy: 'production', stage: 'production', policyVersion: 'cand-1' });
    const fake = fakeEngine((r) => decide(r));
    outcomes = fake.outcomes;
    fallbacks = fake.fallbacks;
    const rollout = new RolloutService(store, { settings });
    app = await buildApp({ store, rollout, engine: fake.engine, settings, bundles: new Bundles('/nonexistent'), adminToken: 'tok' });
  });
  afterEach(async () => {
    await app.close();
    await store.close();
  });

  it('answers a decision with what the engine chose', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/decide', payload: body });
    expect(r.statusCode).toBe(200);
    expect(r.json()).toMatchObject({ id: 'd1', action: 'deep', servedBy: 'production', policyVersion: 'cand-1' });
  });

  it('answers the baseline when the engine misses the request deadline or throws', async () => {
    decide = () => new Promise(() => undefined);
    const late = await app.inject({ method: 'POST', url: '/v1/decide', payload: body });
    expect(late.json()).toMatchObject({ action: 'planner', servedBy: 'fallback', reason: 'deadline', propensity: 1 });
    // the fallback it answered is logged under the same id, so every answered decision is in the log
    expect(fallbacks).toEqual([late.json()]);
    const { id: _given, ...anonymous } = body;
    const late2 = await app.inject({ method: 'POST', url: '/v1/decide', payload: anonymous });
    expect(fallbacks[1]!.id).toBe(late2.json().id);
    decide = async () => {
      throw new Error('boom');
    };
    const broken = await app.inject({ method: 'POST', url: '/v1/decide', payload: body });
    expect(broken.json()).toMatchObject({ action: 'planner', servedBy: 'fallback', reason: 'engine_error' });
    expect(DecisionEngine.fallback({ ...body, point: 'route' }, 'x').action).toBe('planner');
  });

  it('refuses malformed requests with E_SCHEMA and a path', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/decide', payload: { ...body, baselineAction: 'gpu' } });
    expect(r.statusCode).toBe(400);
    expect(r.json()).toMatchObject({ error: { code: 'E_SCHEMA' } });
    expect(r.json().error.message).toContain('baselineAction');
    const bad = await app.inject({ method: 'POST', url: '/v1/decide', headers: { 'content-type': 'application/json' }, payload: '{"point":' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'E_SCHEMA' } });
  });

  it('refuses an unknown decision point with E_UNKNOWN_POINT (422), naming the known ones', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/decide', payload: { ...body, point: 'bogus' } });
    expect(r.statusCode).toBe(422);
    expect(r.json()).toMatchObject({ error: { code: 'E_UNKNOWN_POINT', details: { points: ['cache', 'route', 'tool'] } } });
    expect(r.json().error.message).toContain('bogus');
  });

  it('answers 413 E_TOO_LARGE for a body over the limit and 415 E_UNSUPPORTED_MEDIA for a wrong content type', async () => {
    const huge = JSON.stringify({ ...body, context: { text: 'x'.repeat(2 << 20) } });
    const big = await app.inject({ method: 'POST', url: '/v1/decide', headers: { 'content-type': 'application/json' }, payload: huge });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toMatchObject({ error: { code: 'E_TOO_LARGE' } });
    const text = await app.inject({ method: 'POST', url: '/v1/decide', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(body) });
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ error: { code: 'E_UNSUPPORTED_MEDIA' } });
    const form = await app.inject({ method: 'POST', url: '/v1/outcome', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'id=d1&reward=1' });
    expect(form.statusCode).toBe(415);
  });

  it('refuses implausible telemetry numbers with E_SCHEMA naming the path (a latency of 1.2e32 ms)', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/outcome', payload: { id: 'd1', outcome: { success: true, latency_ms: 1.2e32 } } });
    expect(r.statusCode).toBe(400);
    expect(r.json().error.message).toContain('outcome.latency_ms');
    const cost = await app.inject({ method: 'POST', url: '/v1/outcome', payload: { id: 'd1', outcome: { cost_usd: 5e9 } } });
    expect(cost.statusCode).toBe(400);
    expect(outcomes).toEqual([]);
  });

  it('acknowledges outcomes with 202 and hands them to the engine', async () => {
    const r = await app.inject({ method: 'POST', url: '/v1/outcome', payload: { id: 'd1', reward: 0.5 } });
    expect(r.statusCode).toBe(202);
    expect(outcomes).toEqual([{ id: 'd1', reward: 0.5 }]);
  });

  it('keeps the admin endpoints behind the bearer token and maps refused transitions', async () => {
    expect((await app.inject({ method: 'POST', url: '/v1/admin/rollout/rollback', payload: { reason: 'x' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/admin/rollout/rollback', headers: { authorization: 'Bearer nope' }, payload: { reason: 'x' } })).statusCode).toBe(401);
    const r = await app.inject({ method: 'POST', url: '/v1/admin/rollout/rollback', headers: { authorization: 'Bearer tok' }, payload: { reason: 'x' } });
    expect(r.json()).toMatchObject({ error: { code: 'E_TRANSITION_INVALID' } });
    const history = await app.inject({ method: 'GET', url: '/v1/admin/rollout/history', headers: { authorization: 'Bearer tok' } });
    expect(history.json().records[0]).toMatchObject({ event: 'init', to: 'production' });
  });

  it('counts alerts of every process by kind in umbra_alerts_total, from 0 and without losing concurrent ones', async () => {
    const scrape = async (): Promise<string> => (await app.inject({ method: 'GET', url: '/metrics' })).body;
    const before = await scrape();
    expect(before).toContain('# TYPE umbra_alerts_total counter');
    for (const kind of ['rolled_back', 'drift', 'shadow_failure', 'ingest_errors', 'gate_failed', 'stage_changed']) expect(before).toContain(`umbra_alerts_total{kind="${kind}"} 0`);
    const alert = (i: number, kind: string) => ({ id: `a${i}`, ts: new Date(0).toISOString(), kind, severity: 'critical' as const, message: 'm' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => persistAlert(store, alert(i, 'rolled_back'))));
    await persistAlert(store, alert(11, 'drift'));
    const after = await scrape();
    expect(after).toContain('umbra_alerts_total{kind="rolled_back"} 10');
    expect(after).toContain('umbra_alerts_total{kind="drift"} 1');
    expect(after).toContain('umbra_alerts_total{kind="shadow_failure"} 0');
    // and the recent list shown by every dashboard keeps all eleven
    const recent = ((await store.getState('alerts.recent'))?.value ?? []) as { id: string }[];
    expect(recent.map((a) => a.id).sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `a${i}`), 'a11'].sort());
  });

  it('accepts the bearer scheme in any letter case (RFC 7235), and only the exact token', async () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr']) {
      const r = await app.inject({ method: 'GET', url: '/v1/admin/rollout/history', headers: { authorization: `${scheme} tok` } });
      expect(r.statusCode).toBe(200);
    }
    for (const bad of ['bearer TOK', 'Basic tok', 'bearertok', 'bearer tok extra']) {
      const r = await app.inject({ method: 'GET', url: '/v1/admin/rollout/history', headers: { authorization: bad } });
      expect(r.statusCode).toBe(401);
    }
  });

  it('reports status with the shared KPI names, and unknown routes as E_NOT_FOUND', async () => {
    const s = await app.inject({ method: 'GET', url: '/v1/status' });
    expect(Object.keys(s.json().kpis).sort()).toEqual(['cacheHitRate', 'p95LatencyMs', 'policyValue', 'successRate', 'toolPrecision']);
    expect(s.json()).toMatchObject({ stage: 'production', champion: 'baseline' });
    const nf = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
  });
});
