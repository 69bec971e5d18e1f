/**
 * The Grafana dashboard of deploy/grafana/umbra.json, built from a short list of panels so the
 * layout, ids and data-source wiring are generated rather than hand-edited. `npm run grafana`
 * writes it; a test pins the file to this output and checks every metric name in it against a
 * scrape of a real server.
 */

type Json = Record<string, unknown>;

interface Panel {
  title: string;
  description: string;
  kind: 'timeseries' | 'stat';
  unit: string;
  /** PromQL with its legend. `$instance` selects the servers shown. */
  targets: { expr: string; legend: string }[];
  /** Grid width (of 24). */
  width: number;
  mappings?: Json[];
}

interface Row {
  title: string;
  panels: Panel[];
}

const sel = 'instance=~"$instance"';
const rate = (metric: string, extra = ''): string => `rate(${metric}{${sel}${extra}}[$__rate_interval])`;

/** The stage codes of `umbra_rollout_stage` (src/server/metrics.ts). */
const STAGE_NAMES = ['production', 'registered', 'shadow', 'canary', 'paused', 'rolled_back', 'aborted', 'rejected', 'retired'];

const ROWS: Row[] = [
  {
    title: 'Decisions',
    panels: [
      { title: 'Decisions per second, by who served', description: 'POST /v1/decide answers: production (the champion), canary, control (the equal slice beside the canary) and fallback (the caller’s rule choice).', kind: 'timeseries', unit: 'reqps', width: 8, targets: [{ expr: `sum by (served_by) (${rate('umbra_decisions_total', ', slice=""')})`, legend: '{{served_by}}' }] },
      {
        title: 'Share of decisions falling back to the rules',
        description: 'Fallbacks over all decisions. Users never see these, but nothing is learned from them. Alert: UmbraDecisionFallbacks (> 1 %).',
        kind: 'timeseries',
        unit: 'percentunit',
        width: 8,
        targets: [{ expr: `sum(${rate('umbra_fallbacks_total')}) / sum(${rate('umbra_decisions_total', ', slice!=""')})`, legend: 'fallback share' }],
      },
      { title: 'Fallbacks per second, by reason', description: 'deadline, no_policy, policy_error, timeout, engine_error.', kind: 'timeseries', unit: 'reqps', width: 8, targets: [{ expr: `sum by (reason) (${rate('umbra_fallbacks_total')})`, legend: '{{reason}}' }] },
      {
        title: 'Decide latency inside the server',
        description: 'Quantiles of umbra_decide_duration_seconds. Alert: UmbraDecideLatencyP99 (> 25 ms, the default request deadline).',
        kind: 'timeseries',
        unit: 's',
        width: 8,
        targets: [0.5, 0.99].map((q) => ({ expr: `histogram_quantile(${q}, sum by (le) (${rate('umbra_decide_duration_seconds_bucket')}))`, legend: `p${q * 100}` })),
      },
      { title: 'Decisions per second, by slice', description: 'The canary and control slices should be equal in size.', kind: 'timeseries', unit: 'reqps', width: 8, targets: [{ expr: `sum by (slice) (${rate('umbra_decisions_total', ', served_by=""')})`, legend: '{{slice}}' }] },
      {
        title: 'Outcomes and errors per second',
        description: 'Outcomes received on POST /v1/outcome, and requests answered with an error, by stable error code.',
        kind: 'timeseries',
        unit: 'reqps',
        width: 8,
        targets: [
          { expr: `sum(${rate('umbra_outcomes_total')})`, legend: 'outcomes' },
          { expr: `sum by (code) (${rate('umbra_http_errors_total')})`, legend: '{{code}}' },
        ],
      },
    ],
  },
  {
    title: 'Rollout',
    panels: [
      {
        title: 'Stage of the candidate',
        description: 'umbra_rollout_stage. Alert: UmbraCanaryPaused (paused for 30 minutes).',
        kind: 'stat',
        unit: 'none',
        width: 6,
        targets: [{ expr: `max(umbra_rollout_stage{${sel}})`, legend: 'stage' }],
        mappings: [{ type: 'value', options: Object.fromEntries(STAGE_NAMES.map((name, i) => [String(i), { text: name, index: i }])) }],
      },
      { title: 'Canary weight', description: 'Share of sticky keys on the canary slice (an equal share is the control slice).', kind: 'stat', unit: 'percentunit', width: 6, targets: [{ expr: `max(umbra_rollout_canary_weight_ratio{${sel}})`, legend: 'canary weight' }] },
      { title: 'Policy value, production and shadow', description: 'Latest off-policy estimates of the mean reward in [0, 1].', kind: 'timeseries', unit: 'none', width: 12, targets: [{ expr: `max by (policy) (umbra_policy_value_estimate{${sel}})`, legend: '{{policy}}' }] },
      {
        title: 'Alerts Umbra raised, by kind',
        description: 'Alerts raised by any Umbra process on this store in the last hour (umbra_alerts_total). Alerts: UmbraRolledBack, UmbraDrift, UmbraShadowFailure, UmbraIngestErrors, UmbraGateFailed.',
        kind: 'timeseries',
        unit: 'none',
        width: 24,
        targets: [{ expr: `sum by (kind) (increase(umbra_alerts_total{${sel}}[1h]))`, legend: '{{kind}}' }],
      },
    ],
  },
  {
    title: 'Shadow, decision log and ingestion',
    panels: [
      { title: 'Shadow scoring per second, by result', description: 'scored, dropped (queue full), shed (CPU share), errors, timeouts. Alert: UmbraShadowErrors (> 5 % errors and timeouts).', kind: 'timeseries', unit: 'ops', width: 8, targets: [{ expr: `sum by (result) (${rate('umbra_shadow_events_total')})`, legend: '{{result}}' }] },
      { title: 'Decision-log writes per second, by result', description: 'logged, dropped (buffer full), errors (store failures). Alert: UmbraDecisionLogLoss.', kind: 'timeseries', unit: 'ops', width: 8, targets: [{ expr: `sum by (result) (${rate('umbra_decision_log_events_total')})`, legend: '{{result}}' }] },
      { title: 'Quarantined telemetry lines, by reason', description: 'Lines the ingestion could not use, kept with a reason code (docs/telemetry.md).', kind: 'timeseries', unit: 'none', width: 8, targets: [{ expr: `sum by (reason) (umbra_quarantined_lines{${sel}})`, legend: '{{reason}}' }] },
    ],
  },
];

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

function panelJson(p: Panel, id: number, x: number, y: number): Json {
  const height = p.kind === 'stat' ? 6 : 8;
  return {
    id,
    type: p.kind,
    title: p.title,
    description: p.description,
    datasource: DATASOURCE,
    gridPos: { h: height, w: p.width, x, y },
    fieldConfig: { defaults: { unit: p.unit, ...(p.mappings ? { mappings: p.mappings } : {}) }, overrides: [] },
    options: p.kind === 'stat' ? { reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false }, colorMode: 'value', graphMode: 'none', textMode: 'value' } : { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
    targets: p.targets.map((t, i) => ({ refId: String.fromCharCode(65 + i), datasource: DATASOURCE, expr: t.expr, legendFormat: t.legend })),
  };
}

/** The dashboard model (Grafana's JSON, schema version 39). */
export function grafanaDashboard(): Json {
  const panels: Json[] = [];
  let id = 1;
  let y = 0;
  for (const row of ROWS) {
    panels.push({ id: id++, type: 'row', title: row.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    let x = 0;
    let rowHeight = 0;
    for (const p of row.panels) {
      if (x + p.width > 24) {
        x = 0;
        y += rowHeight;
        rowHeight = 0;
      }
      const json = panelJson(p, id++, x, y);
      panels.push(json);
      x += p.width;
      rowHeight = Math.max(rowHeight, (json.gridPos as { h: number }).h);
    }
    y += rowHeight;
  }
  return {
    title: 'Umbra',
    uid: 'umbra-decision-service',
    description: 'Umbra decision service: decisions, fallbacks, latency, the rollout, shadow scoring and the decision log (from umbra serve’s /metrics).',
    tags: ['umbra'],
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    editable: true,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: {
      list: [
        { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0 },
        {
          name: 'instance',
          label: 'Instance',
          type: 'query',
          datasource: DATASOURCE,
          query: { query: 'label_values(umbra_rollout_stage, instance)', refId: 'instances' },
          definition: 'label_values(umbra_rollout_stage, instance)',
          includeAll: true,
          multi: true,
          current: {},
          refresh: 2,
          sort: 1,
        },
      ],
    },
    annotations: { list: [] },
    panels,
  };
}
