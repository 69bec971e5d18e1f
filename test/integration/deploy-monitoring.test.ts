/**
 * deploy/ for operators: the Grafana dashboard and the Prometheus alerting rules read only metric
 * names that a real `umbra serve` exports (checked against a scrape), the dashboard file is what
 * scripts/grafana-dashboard.ts generates (`npm run grafana`), every alert has a promtool unit test,
 * and the rules mirror each of Umbra's own alert kinds. (`promtool check rules` and `promtool test
 * rules` themselves run in .ci/run.)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../helpers/shared-data.js';
import { post, startTestServer } from '../helpers/server.js';
import { exportedNames, metricNames } from '../helpers/promql.js';
import { grafanaDashboard } from '../../scripts/grafana-dashboard.js';
import type { RunningServer } from '../../src/app/serve.js';

type Json = Record<string, unknown>;

const dashboard = JSON.parse(readFileSync(join(projectRoot, 'deploy', 'grafana', 'umbra.json'), 'utf8')) as Json;
const rules = parse(readFileSync(join(projectRoot, 'deploy', 'prometheus', 'umbra-rules.yml'), 'utf8')) as { groups: { name: string; rules: { alert?: string; expr: string }[] }[] };
const ruleTests = parse(readFileSync(join(projectRoot, 'deploy', 'prometheus', 'umbra-rules.test.yml'), 'utf8')) as { rule_files: string[]; tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[] };

/** Every PromQL expression of the dashboard: panel targets (rows included) and template queries. */
function dashboardExprs(d: Json): string[] {
  const out: string[] = [];
  const walk = (panels: Json[]): void => {
    for (const p of panels) {
      for (const t of (p.targets ?? []) as Json[]) out.push(String(t.expr));
      walk((p.panels ?? []) as Json[]);
    }
  };
  walk(d.panels as Json[]);
  for (const v of ((d.templating as Json).list as Json[]).filter((x) => x.type === 'query')) {
    const m = /label_values\(\s*([^,)]+)\s*,/.exec(String(v.definition));
    expect(m, `template ${String(v.name)} reads a metric by label_values(metric, label)`).not.toBeNull();
    out.push(m![1]!);
  }
  return out;
}

let server: RunningServer;
let exported: Set<string>;

beforeAll(async () => {
  server = await startTestServer({});
  // a decision, an outcome and a refused request, so every family has had something to count
  await post(`${server.url}/v1/decide`, { context: { lang: 'sv' }, actions: ['micro', 'planner'], baselineAction: 'micro', stickyKey: 'u1', id: 'm1' });
  await post(`${server.url}/v1/outcome`, { id: 'm1', reward: 1 });
  await post(`${server.url}/v1/outcome`, { id: 'm1' });
  exported = exportedNames(await (await fetch(`${server.url}/metrics`)).text());
});
afterAll(async () => {
  await server?.close();
});

describe('PromQL metric names', () => {
  it('are found in expressions, and functions, labels, ranges, numbers and variables are not', () => {
    expect(metricNames('sum by (le, code) (rate(umbra_a_bucket{instance=~"$instance", le!="0.5"}[$__rate_interval])) / on (job) group_left (x) umbra_b > 1e-9 offset 5m')).toEqual(['umbra_a_bucket', 'umbra_b']);
    expect(metricNames('histogram_quantile(0.99, sum without (served_by) (rate(umbra_decide_duration_seconds_bucket[5m]))) > 0.025')).toEqual(['umbra_decide_duration_seconds_bucket']);
    expect(metricNames('umbra_rollout_stage == 4 and bool up')).toEqual(['umbra_rollout_stage', 'up']);
  });

  it('exported ones are read from a real scrape, with the series of histograms', () => {
    for (const n of ['umbra_decisions_total', 'umbra_fallbacks_total', 'umbra_alerts_total', 'umbra_outcomes_total', 'umbra_decide_duration_seconds_bucket', 'umbra_rollout_stage']) expect(exported.has(n), n).toBe(true);
    expect(exported.has('umbra_nonexistent_total')).toBe(false);
  });
});

describe('deploy/grafana/umbra.json', () => {
  it('is what scripts/grafana-dashboard.ts generates (npm run grafana)', () => {
    expect(dashboard).toEqual(grafanaDashboard());
  });

  it('reads only metrics /metrics exports, in every panel', () => {
    const exprs = dashboardExprs(dashboard);
    expect(exprs.length).toBeGreaterThanOrEqual(12);
    const unknown = exprs.flatMap((e) => metricNames(e).filter((n) => !exported.has(n)).map((n) => `${n} in ${e}`));
    expect(unknown).toEqual([]);
    for (const e of exprs) expect(metricNames(e).length, e).toBeGreaterThan(0);
  });

  it('lays out its panels without overlap', () => {
    const boxes = (dashboard.panels as { gridPos: { x: number; y: number; w: number; h: number } }[]).map((p) => p.gridPos);
    for (const [i, a] of boxes.entries()) {
      expect(a.x + a.w).toBeLessThanOrEqual(24);
      for (const b of boxes.slice(i + 1)) expect(a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h, JSON.stringify([a, b])).toBe(false);
    }
  });
});

describe('deploy/prometheus/umbra-rules.yml', () => {
  const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);

  it('reads only metrics /metrics exports', () => {
    expect(alerts.length).toBeGreaterThanOrEqual(8);
    const unknown = alerts.flatMap((r) => metricNames(r.expr).filter((n) => !exported.has(n)).map((n) => `${n} in ${r.alert}`));
    expect(unknown).toEqual([]);
  });

  it("mirrors Umbra's own alerts and watches fallbacks and p99", () => {
    const exprs = alerts.map((r) => r.expr).join('\n');
    for (const kind of ['rolled_back', 'drift', 'shadow_failure', 'ingest_errors']) expect(exprs).toContain(`umbra_alerts_total{kind="${kind}"}`);
    expect(exprs).toContain('umbra_fallbacks_total');
    expect(exprs).toMatch(/histogram_quantile\(0\.99, .*umbra_decide_duration_seconds_bucket/);
  });

  it('has a promtool unit test that makes each alert fire and one that keeps it quiet', () => {
    expect(ruleTests.rule_files).toEqual(['umbra-rules.yml']);
    const cases = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${a.alert} fires in a test`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${a.alert} stays quiet in a test`).toBe(true);
    }
  });
});
