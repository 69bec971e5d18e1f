// The dashboard's only script. It renders one DashboardSnapshot (src/core/dashboard.ts) at a time:
// the server pushes snapshots over server-sent events and the page falls back to polling when the
// stream fails. Charts are created once and updated in place, so a long-open page stays cheap.
// Every string from the snapshot goes through textContent: nothing from the server becomes markup.

const KPI_META = {
  toolPrecision: { label: 'Tool precision', kind: 'rate', lowerIsBetter: false },
  successRate: { label: 'Success rate', kind: 'rate', lowerIsBetter: false },
  p95LatencyMs: { label: 'p95 latency', kind: 'ms', lowerIsBetter: true },
  cacheHitRate: { label: 'Cache hit rate', kind: 'rate', lowerIsBetter: false },
  policyValue: { label: 'Policy value', kind: 'value', lowerIsBetter: false },
};

const SLICE_ORDER = ['production', 'canary', 'control', 'shadow'];
const COLORS = {
  production: '#2563eb',
  canary: '#d97706',
  control: '#0f766e',
  shadow: '#7c3aed',
  other: '#94a3b8',
  ink: '#1e293b',
  muted: '#64748b',
  grid: '#e8edf3',
  good: '#15803d',
  bad: '#b91c1c',
};
const VALUE_HEIGHT = 200;
const BARS_HEIGHT = 180;
const SPARK_WIDTH = 130;
const AXIS_FONT = '11px system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Display hints only: the real gates live on the server and decide promotions. */
const HINTS = { essShareLow: 0.1, maxWeightHigh: 100 };

const POLL_MS = 2000;
const SSE_RETRY_MS = 30_000;
const MAX_BAR_GROUPS = 8;
const MAX_LIST_ROWS = 100;
const TOKEN_KEY = 'umbra.adminToken';

const $ = (id) => {
  const node = document.getElementById(id);
  if (!node) throw new Error(`missing element #${id}`);
  return node;
};

/** Builds an element; string children become text nodes, never markup. */
function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof window.Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// ---------------------------------------------------------------------------------------------
// Formatting

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const isNum = (v) => typeof v === 'number' && Number.isFinite(v);

function fmtCount(v) {
  return isNum(v) ? intFmt.format(v) : '—';
}

function fmtPct(v, digits = 1) {
  return isNum(v) ? `${(v * 100).toFixed(digits)}%` : '—';
}

/** A traffic weight (a fraction): whole percents without decimals, else one decimal. */
function fmtWeight(w) {
  if (!isNum(w)) return '—';
  const pct = Math.round(w * 1000) / 10;
  return Number.isInteger(pct) ? `${pct}%` : `${pct.toFixed(1)}%`;
}

function fmtKpi(kind, v) {
  if (!isNum(v)) return '—';
  if (kind === 'rate') return fmtPct(v);
  if (kind === 'ms') return `${intFmt.format(v)} ms`;
  return v.toFixed(3);
}

function fmtDelta(kind, d) {
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  const a = Math.abs(d);
  if (kind === 'rate') return `${sign}${(a * 100).toFixed(1)} pp`;
  if (kind === 'ms') return `${sign}${intFmt.format(a)} ms`;
  return `${sign}${a.toFixed(3)}`;
}

function fmtDuration(s) {
  if (!isNum(s) || s < 0) return '—';
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = Math.floor(s % 60);
  if (d > 0) return `${d}d ${hh}h`;
  if (hh > 0) return `${hh}h ${String(mm).padStart(2, '0')}m`;
  if (mm > 0) return `${mm}m ${String(ss).padStart(2, '0')}s`;
  return `${ss}s`;
}

function fmtTime(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return { short: String(ts), full: String(ts) };
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  const time = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const date = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
  return { short: sameDay ? time : `${date} ${time.slice(0, 5)}`, full: d.toISOString() };
}

const stageLabel = (s) => String(s ?? '—').replaceAll('_', ' ');

function alpha(hex, a) {
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
}

// ---------------------------------------------------------------------------------------------
// State

const state = {
  snapshot: null,
  lastJson: '',
  receivedAt: 0,
  transport: 'connecting',
  es: null,
  pollTimer: null,
  sseRetryTimer: null,
  token: null,
  valueChart: null,
  kpiRows: new Map(),
  historyKey: null,
  maxSeq: null,
  alertsKey: null,
  quarantineKey: null,
  slices: {},
};

const hasUplot = typeof uPlot === 'function';

// ---------------------------------------------------------------------------------------------
// Header

const HEALTH_LABEL = { healthy: 'healthy', degraded: 'degraded', baseline_only: 'baseline only' };
const IN_FLIGHT = new Set(['registered', 'shadow', 'canary', 'paused']);

function renderStatus(s) {
  const st = s.status ?? {};
  // Production's health and the candidate's state are two separate facts: a rolled-back candidate
  // is history (dimmed), never a red alarm over a production that serves well.
  const health = $('production-health');
  const h = st.production?.health;
  health.textContent = HEALTH_LABEL[h] ?? '—';
  health.dataset.health = String(h ?? 'unknown');
  health.title = st.production?.reason ?? '';
  const stage = $('stage');
  const none = st.candidate == null && st.stage === 'production';
  const inFlight = typeof st.candidateInFlight === 'boolean' ? st.candidateInFlight : IN_FLIGHT.has(st.stage);
  stage.textContent = none ? 'none' : stageLabel(st.stage);
  stage.dataset.stage = none ? 'unknown' : String(st.stage ?? 'unknown');
  stage.dataset.inflight = String(inFlight && !none);
  stage.title = none ? 'No candidate yet' : inFlight ? `Candidate ${st.candidate ?? ''} is in ${stageLabel(st.stage)}` : `The last candidate (${st.candidate ?? '—'}) ended as ${stageLabel(st.stage)}; no candidate is in flight`;
  setText('champion', st.champion ?? 'rules (baseline)', st.champion ?? 'The caller\'s own rules serve production');
  setText('candidate', st.candidate ?? 'none');
  $('candidate').classList.toggle('muted', st.candidate == null);
  $('canary-weight').textContent = fmtWeight(st.canaryWeight);
  renderClock();
}

function setText(id, text, title) {
  const node = $(id);
  node.textContent = String(text);
  node.title = String(title ?? text);
}

/** Uptime and "updated … ago" tick locally between snapshots. */
function renderClock() {
  const s = state.snapshot;
  if (!s) return;
  const since = (Date.now() - state.receivedAt) / 1000;
  $('uptime').textContent = fmtDuration((s.status?.uptimeS ?? NaN) + since);
  $('updated').textContent = since < 2 ? 'just now' : `${fmtDuration(since)} ago`;
  $('updated').title = `snapshot ${s.ts}`;
}

function setLive(mode) {
  state.transport = mode;
  const live = $('live');
  live.dataset.state = mode;
  $('live-label').textContent = mode;
  live.title = {
    live: 'Live: the server pushes every change (server-sent events)',
    polling: `The event stream is unavailable; asking the server every ${POLL_MS / 1000} s`,
    offline: 'The server does not answer; retrying',
    connecting: 'Connecting',
  }[mode] ?? mode;
}

// ---------------------------------------------------------------------------------------------
// Policy value chart (uPlot, bands between the Lo and Hi series)

function valueRef(s) {
  const row = (s.kpis ?? []).find((k) => k.name === 'policyValue');
  return row ? { baseline: row.baseline, target: row.target } : null;
}

function createValueChart() {
  const host = $('chart-value');
  // spanGaps false: a null (a time bucket without data) stays a gap, never a line across it.
  const line = (label, color) => ({ label, stroke: color, width: 2, spanGaps: false, points: { size: 5, fill: color } });
  const edge = (label, color) => ({ label, stroke: alpha(color, 0.35), width: 1, spanGaps: false, points: { show: false } });
  const axis = (extra) => ({
    stroke: COLORS.muted,
    font: AXIS_FONT,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { stroke: COLORS.grid, width: 1, size: 4 },
    ...extra,
  });
  const opts = {
    width: Math.max(200, host.clientWidth),
    height: VALUE_HEIGHT,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { size: 7 } },
    scales: {
      x: { time: true },
      y: {
        range: (u, min, max) => {
          const ref = state.snapshot ? valueRef(state.snapshot) : null;
          let lo = isNum(min) ? min : 0;
          let hi = isNum(max) ? max : 1;
          if (ref) {
            lo = Math.min(lo, ref.baseline, ref.target);
            hi = Math.max(hi, ref.baseline, ref.target);
          }
          const pad = Math.max(0.02, (hi - lo) * 0.08);
          return [Math.max(0, lo - pad), Math.min(1, hi + pad)];
        },
      },
    },
    series: [
      {},
      line('Production', COLORS.production),
      edge('Production low', COLORS.production),
      edge('Production high', COLORS.production),
      line('Shadow', COLORS.shadow),
      edge('Shadow low', COLORS.shadow),
      edge('Shadow high', COLORS.shadow),
    ],
    bands: [
      { series: [3, 2], fill: alpha(COLORS.production, 0.13) },
      { series: [6, 5], fill: alpha(COLORS.shadow, 0.13) },
    ],
    axes: [axis({ values: timeLabels }), axis({ size: 46, values: (u, splits) => splits.map((v) => v.toFixed(2)) })],
    hooks: {
      draw: [drawValueRefs],
      setCursor: [(u) => renderValueLegend(u.cursor.idx)],
    },
  };
  const chart = new uPlot(opts, [[], [], [], [], [], [], []], host);
  watchWidth(host, (w) => chart.setSize({ width: w, height: VALUE_HEIGHT }));
  return chart;
}

/** 24-hour clock labels, with the date under the first label of each day. */
function timeLabels(u, splits) {
  let lastDay = '';
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const hm = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
    const day = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
    if (day === lastDay) return hm;
    lastDay = day;
    return `${hm}\n${day}`;
  });
}

/** Dashed horizontal lines at the seed's baseline and target for policy value. */
function drawValueRefs(u) {
  const ref = state.snapshot ? valueRef(state.snapshot) : null;
  if (!ref) return;
  const { ctx } = u;
  const dpr = window.devicePixelRatio || 1;
  const marks = [
    { v: ref.baseline, color: COLORS.muted, label: 'baseline' },
    { v: ref.target, color: COLORS.good, label: 'target' },
  ];
  ctx.save();
  ctx.font = `${10 * dpr}px system-ui, sans-serif`;
  ctx.textAlign = 'right';
  ctx.textBaseline = 'bottom';
  for (const m of marks) {
    if (!isNum(m.v)) continue;
    const y = Math.round(u.valToPos(m.v, 'y', true));
    if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
    ctx.strokeStyle = m.color;
    ctx.lineWidth = dpr;
    ctx.setLineDash([5 * dpr, 4 * dpr]);
    ctx.beginPath();
    ctx.moveTo(u.bbox.left, y);
    ctx.lineTo(u.bbox.left + u.bbox.width, y);
    ctx.stroke();
    ctx.fillStyle = m.color;
    ctx.fillText(`${m.label} ${m.v.toFixed(2)}`, u.bbox.left + u.bbox.width - 4 * dpr, y - 2 * dpr);
  }
  ctx.restore();
}

function lastIndex(arr) {
  for (let i = (arr?.length ?? 0) - 1; i >= 0; i--) if (isNum(arr[i])) return i;
  return -1;
}

function fmtEstimate(v, lo, hi) {
  if (!isNum(v)) return '—';
  return isNum(lo) && isNum(hi) ? `${v.toFixed(3)} [${lo.toFixed(3)}, ${hi.toFixed(3)}]` : v.toFixed(3);
}

/** The legend shows the hovered point, else each series' latest estimate. */
function renderValueLegend(idx) {
  const v = state.snapshot?.value;
  if (!v) return;
  const at = (series) => (isNum(idx) && idx >= 0 ? idx : lastIndex(v[series]));
  const p = at('production');
  const s = at('shadow');
  $('value-prod').textContent = p >= 0 ? fmtEstimate(v.production[p], v.productionLo?.[p], v.productionHi?.[p]) : '—';
  $('value-shadow').textContent = s >= 0 ? fmtEstimate(v.shadow[s], v.shadowLo?.[s], v.shadowHi?.[s]) : '—';
  // Without a live shadow estimate, the offline one the bundle carries (route, DR) stands beside it.
  const off = offlineRoute(state.snapshot);
  $('value-offline-key').hidden = off === null;
  if (off !== null) $('value-offline').textContent = `${fmtEstimate(off.value, off.ci?.[0], off.ci?.[1])} (${OFFLINE_OF[state.snapshot.offline.of] ?? ''})`;
}

const OFFLINE_OF = { candidate: 'candidate', last_candidate: 'last candidate', champion: 'champion' };

/** The offline DR (else SNIPS, IPS) estimate of the route point, or of the first point. */
function offlineRoute(s) {
  const pts = s?.offline?.points;
  if (!pts) return null;
  const p = pts.route ?? Object.values(pts)[0];
  const e = p?.estimates ?? {};
  const best = e.dr ?? e.snips ?? e.ips ?? null;
  return best && isNum(best.value) ? best : null;
}

function renderValue(s) {
  const v = s.value ?? {};
  const t = Array.isArray(v.t) ? v.t : [];
  const col = (k) => t.map((_, i) => (isNum(v[k]?.[i]) ? v[k][i] : null));
  const data = [t, col('production'), col('productionLo'), col('productionHi'), col('shadow'), col('shadowLo'), col('shadowHi')];
  const empty = t.length === 0 || (lastIndex(data[1]) < 0 && lastIndex(data[4]) < 0);
  if (hasUplot) {
    showEmpty('chart-value', empty);
    state.valueChart ??= createValueChart();
    state.valueChart.setData(data);
  }
  renderValueLegend(null);
}

// ---------------------------------------------------------------------------------------------
// KPI table with one sparkline per KPI

function kpiMeets(meta, now, target) {
  if (!isNum(now) || !isNum(target)) return null;
  return meta.lowerIsBetter ? now <= target : now >= target;
}

function createKpiRow(name) {
  const meta = KPI_META[name] ?? { label: name, kind: 'value', lowerIsBetter: false };
  const cells = {
    baseline: h('td', { class: 'num muted' }),
    now: h('td', { class: 'num now' }),
    delta: h('div', { class: 'delta' }),
    target: h('td', { class: 'num muted' }),
    trend: h('div', { class: 'spark', dataset: { chart: `kpi-${name}` } }),
    trendEmpty: h('span', { class: 'empty-inline', hidden: true }, 'no data yet'),
    met: h('td', { class: 'center met' }),
  };
  const nowValue = h('div', { class: 'now-value' });
  cells.now.append(nowValue, cells.delta);
  cells.nowValue = nowValue;
  const tr = h(
    'tr',
    { dataset: { kpi: name } },
    h('th', { scope: 'row', class: 'nowrap' }, meta.label, meta.lowerIsBetter ? h('div', { class: 'muted small' }, 'lower is better') : null),
    cells.baseline,
    cells.now,
    cells.target,
    h('td', { class: 'trend' }, cells.trend, cells.trendEmpty),
    cells.met,
  );
  $('kpis').tBodies[0].append(tr);
  const row = { meta, tr, cells, chart: null };
  if (hasUplot) {
    row.chart = new uPlot(
      {
        width: SPARK_WIDTH,
        height: 34,
        padding: [4, 4, 4, 4],
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: false }, y: { range: (u, min, max) => sparkRange(min, max) } },
        axes: [{ show: false }, { show: false }],
        series: [
          {},
          // A lone first measurement has no line to draw: show it as a dot.
          { stroke: COLORS.ink, width: 1.5, points: { show: (u) => u.data[0].length === 1, size: 5, fill: COLORS.ink } },
          { stroke: COLORS.muted, width: 1, dash: [2, 3], points: { show: false } },
          { stroke: COLORS.good, width: 1, dash: [5, 3], points: { show: false } },
        ],
      },
      [[], [], [], []],
      cells.trend,
    );
  }
  return row;
}

function sparkRange(min, max) {
  if (!isNum(min) || !isNum(max)) return [0, 1];
  const pad = Math.max((max - min) * 0.12, Math.abs(max) * 0.01, 1e-6);
  return [min - pad, max + pad];
}

function renderKpis(s) {
  const byName = new Map((s.kpis ?? []).map((k) => [k.name, k]));
  const names = [...Object.keys(KPI_META), ...[...byName.keys()].filter((n) => !(n in KPI_META))];
  for (const name of names) {
    const k = byName.get(name);
    if (!k) continue;
    let row = state.kpiRows.get(name);
    if (!row) {
      row = createKpiRow(name);
      state.kpiRows.set(name, row);
    }
    const { meta, cells } = row;
    cells.baseline.textContent = fmtKpi(meta.kind, k.baseline);
    cells.target.textContent = fmtKpi(meta.kind, k.target);
    cells.nowValue.textContent = fmtKpi(meta.kind, k.now);
    if (isNum(k.now) && isNum(k.baseline)) {
      const d = k.now - k.baseline;
      const better = meta.lowerIsBetter ? d < 0 : d > 0;
      cells.delta.textContent = fmtDelta(meta.kind, d);
      cells.delta.title = `${fmtDelta(meta.kind, d)} against the seed's baseline`;
      cells.delta.className = `delta ${d === 0 ? '' : better ? 'good' : 'bad'}`;
    } else {
      cells.delta.textContent = '';
    }
    const met = kpiMeets(meta, k.now, k.target);
    cells.met.replaceChildren();
    if (met === null) {
      cells.met.append(h('span', { class: 'muted' }, '—'));
      cells.met.dataset.met = 'unknown';
    } else if (met) {
      cells.met.append(h('span', { class: 'pill good', title: 'now meets the target' }, '✓ met'));
      cells.met.dataset.met = 'yes';
    } else {
      const gap = k.target - k.baseline;
      const closed = gap !== 0 ? (k.now - k.baseline) / gap : NaN;
      cells.met.append(
        h('span', { class: 'pill bad', title: 'now misses the target' }, '✗ not yet'),
        isNum(closed) ? h('div', { class: 'small muted' }, `${Math.round(Math.max(0, closed) * 100)}% of gap closed`) : null,
      );
      cells.met.dataset.met = 'no';
    }
    const trend = (Array.isArray(k.trend) ? k.trend : []).filter((p) => Array.isArray(p) && isNum(p[0]) && isNum(p[1]));
    cells.trendEmpty.hidden = trend.length > 0;
    cells.trend.hidden = trend.length === 0;
    if (row.chart) {
      const xs = trend.map((p) => p[0]);
      row.chart.setData([xs, trend.map((p) => p[1]), xs.map(() => k.baseline), xs.map(() => k.target)]);
    }
    cells.trend.title = trend.length
      ? `${trend.length} points; dotted: baseline ${fmtKpi(meta.kind, k.baseline)}, dashed: target ${fmtKpi(meta.kind, k.target)}`
      : '';
  }
}

// ---------------------------------------------------------------------------------------------
// Action distribution per slice (a canvas drawn here: grouped bars of each slice's shares)

function sliceOrder(slices) {
  const keys = Object.keys(slices);
  return [...SLICE_ORDER.filter((k) => keys.includes(k)), ...keys.filter((k) => !SLICE_ORDER.includes(k)).sort()];
}

function barGroups(slices) {
  const order = sliceOrder(slices);
  const totals = {};
  const byAction = new Map();
  for (const sl of order) {
    let total = 0;
    for (const [a, c] of Object.entries(slices[sl] ?? {})) {
      if (!isNum(c) || c <= 0) continue;
      total += c;
      byAction.set(a, (byAction.get(a) ?? 0) + c);
    }
    totals[sl] = total;
  }
  let actions = [...byAction.entries()].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1)).map(([a]) => a);
  let other = [];
  if (actions.length > MAX_BAR_GROUPS) {
    other = actions.slice(MAX_BAR_GROUPS - 1);
    actions = [...actions.slice(0, MAX_BAR_GROUPS - 1), 'other'];
  }
  const share = (sl, a) => {
    const t = totals[sl];
    if (!t) return 0;
    const counts = slices[sl] ?? {};
    const c = a === 'other' ? other.reduce((acc, o) => acc + (isNum(counts[o]) ? counts[o] : 0), 0) : counts[a];
    return isNum(c) && c > 0 ? c / t : 0;
  };
  const shown = order.filter((sl) => totals[sl] > 0);
  return { order, shown, totals, actions, share };
}

function renderSlices(s) {
  state.slices = s.slices && typeof s.slices === 'object' ? s.slices : {};
  const g = barGroups(state.slices);
  const legend = $('slices-legend');
  legend.replaceChildren(
    ...g.order.map((sl) => {
      const swatch = h('i', { class: 'swatch' });
      // Set through CSSOM rather than a style attribute, which a strict CSP would block.
      swatch.style.background = COLORS[sl] ?? COLORS.other;
      return h('span', { class: 'key' }, swatch, `${sl} `, h('span', { class: 'muted', title: `${fmtCount(g.totals[sl])} decisions` }, fmtCount(g.totals[sl])));
    }),
  );
  showEmpty('chart-actions', g.shown.length === 0);
  drawBars();
}

function drawBars() {
  const host = $('chart-actions');
  const canvas = host.querySelector('canvas');
  const w = host.clientWidth;
  const hgt = BARS_HEIGHT;
  const dpr = window.devicePixelRatio || 1;
  canvas.style.width = `${w}px`;
  canvas.style.height = `${hgt}px`;
  canvas.width = Math.round(w * dpr);
  canvas.height = Math.round(hgt * dpr);
  const ctx = canvas.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, w, hgt);

  const g = barGroups(state.slices);
  const m = { left: 40, right: 8, top: 12, bottom: 26 };
  const pw = w - m.left - m.right;
  const ph = hgt - m.top - m.bottom;
  ctx.font = AXIS_FONT;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    const y = Math.round(m.top + ph * (1 - f)) + 0.5;
    ctx.strokeStyle = f === 0 ? '#cbd5e1' : COLORS.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(m.left, y);
    ctx.lineTo(m.left + pw, y);
    ctx.stroke();
    ctx.fillStyle = COLORS.muted;
    ctx.fillText(`${f * 100}%`, m.left - 6, y);
  }
  if (g.shown.length === 0 || g.actions.length === 0) return;

  const gw = pw / g.actions.length;
  const inner = gw * 0.78;
  const bw = Math.max(2, inner / g.shown.length - 2);
  g.actions.forEach((a, i) => {
    const gx = m.left + i * gw + (gw - inner) / 2;
    g.shown.forEach((sl, j) => {
      const v = g.share(sl, a);
      const bh = v * ph;
      const x = gx + j * (inner / g.shown.length) + 1;
      ctx.fillStyle = COLORS[sl] ?? COLORS.other;
      ctx.fillRect(x, m.top + ph - bh, bw, bh);
      if (bw >= 20 && v > 0) {
        ctx.fillStyle = COLORS.ink;
        ctx.textAlign = 'center';
        ctx.textBaseline = 'bottom';
        ctx.font = '10px system-ui, sans-serif';
        ctx.fillText(`${Math.round(v * 100)}`, x + bw / 2, m.top + ph - bh - 1);
      }
    });
    ctx.fillStyle = COLORS.ink;
    ctx.font = AXIS_FONT;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    ctx.fillText(ellipsize(ctx, a, gw - 4), m.left + i * gw + gw / 2, m.top + ph + 7);
  });
}

function ellipsize(ctx, text, max) {
  if (ctx.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && ctx.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}

// ---------------------------------------------------------------------------------------------
// Evaluation, counts, history, alerts

function renderEvaluation(s) {
  $('agreement').textContent = fmtPct(s.agreement);
  // Live shadow diagnostics when a candidate is scored in the shadow; else the offline ones its
  // bundle carries (validation window), labelled as such.
  let d = s.diagnostics ?? {};
  let source = 'Diagnostics of the live shadow';
  if (!isNum(d.n) && s.offline) {
    const pts = s.offline.points ?? {};
    const p = pts.route ?? Object.values(pts)[0];
    if (p) {
      d = { ess: p.diagnostics?.ess ?? null, supportDeficit: p.diagnostics?.supportDeficit ?? null, maxWeight: p.diagnostics?.maxWeight ?? null, n: p.n };
      source = `Offline diagnostics of the ${OFFLINE_OF[s.offline.of] ?? 'policy'} (validation window)`;
    }
  }
  $('diag-source').textContent = source;
  renderOffline(s);
  const ess = $('diag-ess');
  const essShare = isNum(d.ess) && isNum(d.n) && d.n > 0 ? d.ess / d.n : null;
  ess.textContent = isNum(d.ess) ? `${fmtCount(d.ess)}${essShare !== null ? ` (${fmtPct(essShare, 0)} of n)` : ''}` : '—';
  ess.className = essShare !== null && essShare < HINTS.essShareLow ? 'warn' : '';
  const sup = $('diag-support');
  sup.textContent = fmtPct(d.supportDeficit);
  sup.className = isNum(d.supportDeficit) && d.supportDeficit > 0 ? 'warn' : '';
  sup.title = isNum(d.supportDeficit) && d.supportDeficit > 0
    ? 'Part of the candidate\'s choices were never tried by the logger: IPS and DR cannot judge them'
    : '';
  const mw = $('diag-maxw');
  mw.textContent = isNum(d.maxWeight) ? d.maxWeight.toFixed(1) : '—';
  mw.className = isNum(d.maxWeight) && d.maxWeight > HINTS.maxWeightHigh ? 'warn' : '';
  $('diag-n').textContent = fmtCount(d.n);
}

function renderOffline(s) {
  const off = s.offline ?? null;
  const key = JSON.stringify(off);
  if (key === state.offlineKey) return;
  state.offlineKey = key;
  $('offline-box').hidden = off === null;
  if (off === null) return;
  $('offline-version').textContent = `${off.version} · ${OFFLINE_OF[off.of] ?? ''}`;
  const rows = Object.entries(off.points ?? {}).map(([point, p]) => {
    const e = p.estimates ?? {};
    const best = e.dr ?? e.snips ?? e.ips ?? null;
    return h('tr', null,
      h('td', { class: 'mono' }, point),
      h('td', { class: 'num' }, isNum(p.loggerValue) ? p.loggerValue.toFixed(3) : '—'),
      h('td', { class: 'num' }, best ? fmtEstimate(best.value, best.ci?.[0], best.ci?.[1]) : '—'),
      h('td', { class: p.gates ? (p.gates.pass ? 'good' : 'warn') : 'muted', title: p.gates?.summary ?? 'no gate verdict' }, p.gates ? (p.gates.pass ? 'pass' : 'hold') : '—'),
    );
  });
  $('offline').tBodies[0].replaceChildren(...rows.slice(0, MAX_LIST_ROWS));
}

function renderSelection(s) {
  const sel = s.selection ?? null;
  const key = JSON.stringify(sel);
  if (key === state.selectionKey) return;
  state.selectionKey = key;
  $('selection-box').hidden = sel === null;
  if (sel === null) return;
  $('selection-version').textContent = sel.version;
  const fmt = (x) => (isNum(x) ? x.toFixed(3) : '—');
  const rows = [];
  for (const [point, p] of Object.entries(sel.points ?? {})) {
    for (const c of p.candidates ?? []) {
      const chosen = c.name === p.chosen;
      rows.push(
        h('tr', chosen ? { class: 'chosen', title: 'chosen: the highest lower bound' } : null,
          h('td', { class: 'mono' }, point),
          h('td', { class: 'mono' }, `${chosen ? '★ ' : ''}${c.name}`, h('span', { class: 'muted' }, ` ${c.algorithm}`)),
          h('td', { class: 'num' }, fmt(c.value)),
          h('td', { class: 'num' }, fmt(c.lower)),
        ),
      );
    }
  }
  $('selection').tBodies[0].replaceChildren(...rows.slice(0, MAX_LIST_ROWS));
}

function renderCounts(s) {
  const c = s.counts ?? {};
  const withRate = (id, part, whole) => {
    const node = $(id);
    node.replaceChildren(fmtCount(part));
    if (isNum(part) && isNum(whole) && whole > 0) node.append(h('span', { class: 'rate' }, ` ${fmtPct(part / whole)}`));
  };
  $('count-decisions').textContent = fmtCount(c.decisions);
  $('count-scored').textContent = fmtCount(c.shadowScored);
  const dropped = $('count-dropped');
  withRate('count-dropped', c.shadowDropped, (c.shadowScored ?? 0) + (c.shadowDropped ?? 0));
  dropped.className = isNum(c.shadowDropped) && c.shadowDropped > 0 ? 'warn' : '';
  withRate('count-fallbacks', c.fallbacks, c.decisions);
  const q = c.quarantined ?? {};
  $('count-quarantined').textContent = fmtCount(q.total);
  const reasons = Object.entries(q.byReason ?? {}).filter(([, n]) => isNum(n) && n > 0).sort((a, b) => b[1] - a[1]);
  const key = JSON.stringify(reasons);
  if (key === state.quarantineKey) return;
  state.quarantineKey = key;
  const total = reasons.reduce((acc, [, n]) => acc + n, 0);
  $('quarantine').tBodies[0].replaceChildren(
    ...reasons.slice(0, MAX_LIST_ROWS).map(([reason, n]) =>
      h('tr', null, h('td', { class: 'mono' }, reason), h('td', { class: 'num' }, fmtCount(n)), h('td', { class: 'num muted' }, fmtPct(n / total, 0))),
    ),
  );
  $('quarantine').hidden = reasons.length === 0;
  $('quarantine-empty').hidden = reasons.length > 0;
}

function stageChip(stage) {
  return stage == null ? h('span', { class: 'muted' }, '—') : h('span', { class: 'chip', dataset: { stage } }, stageLabel(stage));
}

function renderHistory(s) {
  const rows = (Array.isArray(s.history) ? s.history : []).slice().sort((a, b) => b.seq - a.seq);
  const key = rows.map((r) => `${r.seq}:${r.ts}`).join(',');
  if (key === state.historyKey) return;
  state.historyKey = key;
  const prevMax = state.maxSeq;
  $('history').tBodies[0].replaceChildren(
    ...rows.slice(0, MAX_LIST_ROWS).map((r) => {
      const t = fmtTime(r.ts);
      const fresh = prevMax !== null && r.seq > prevMax;
      return h(
        'tr',
        { class: fresh ? 'fresh' : '', dataset: { seq: r.seq }, title: r.policy ? `policy ${r.policy}` : null },
        h('td', { class: 'nowrap', title: t.full }, t.short),
        h('td', { class: 'nowrap' }, stageChip(r.from), h('span', { class: 'arrow' }, ' → '), stageChip(r.to)),
        h('td', null, h('div', { class: 'event' }, r.event), h('div', { class: 'small muted actor', title: r.actor }, r.actor)),
        h('td', { title: r.reason ?? '' }, h('div', { class: 'reason' }, r.reason ?? '')),
      );
    }),
  );
  state.maxSeq = rows.length ? rows[0].seq : prevMax;
  $('history-count').textContent = rows.length ? `${rows.length} event${rows.length === 1 ? '' : 's'}` : '';
  $('history-empty').hidden = rows.length > 0;
}

function renderAlerts(s) {
  const alerts = (Array.isArray(s.alerts) ? s.alerts : []).slice().sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0));
  const key = JSON.stringify(alerts);
  if (key === state.alertsKey) return;
  state.alertsKey = key;
  $('alerts').replaceChildren(
    ...alerts.slice(0, MAX_LIST_ROWS).map((a) => {
      const t = fmtTime(a.ts);
      return h(
        'li',
        { class: `alert ${a.severity}`, dataset: { severity: a.severity } },
        h('span', { class: `sev ${a.severity}` }, a.severity),
        h('div', { class: 'alert-body' }, h('div', { class: 'alert-kind' }, a.kind, h('span', { class: 'muted small', title: t.full }, ` · ${t.short}`)), h('div', { class: 'alert-msg' }, a.message)),
      );
    }),
  );
  const crit = alerts.filter((a) => a.severity === 'critical').length;
  $('alerts-count').textContent = alerts.length ? `${alerts.length}${crit ? ` · ${crit} critical` : ''}` : '';
  $('alerts-empty').hidden = alerts.length > 0;
}

function showEmpty(hostId, empty) {
  const e = $(hostId).querySelector('.empty');
  if (e) e.hidden = !empty;
}

// ---------------------------------------------------------------------------------------------
// Applying snapshots

function looksLikeSnapshot(s) {
  return s !== null && typeof s === 'object' && typeof s.ts === 'string' && s.status !== null && typeof s.status === 'object' && typeof s.status.stage === 'string';
}

/** Renders a snapshot; a malformed one is ignored so that a bad push never blanks the page. */
function apply(raw) {
  let snap = raw;
  let json = raw;
  try {
    if (typeof raw === 'string') snap = JSON.parse(raw);
    else json = JSON.stringify(raw);
  } catch {
    console.warn('umbra: ignored a snapshot that is not JSON');
    return;
  }
  if (!looksLikeSnapshot(snap)) {
    console.warn('umbra: ignored a malformed snapshot');
    return;
  }
  state.receivedAt = Date.now();
  if (json === state.lastJson) {
    renderClock();
    return;
  }
  state.lastJson = json;
  state.snapshot = snap;
  for (const [name, fn] of [
    ['status', renderStatus],
    ['value', renderValue],
    ['kpis', renderKpis],
    ['slices', renderSlices],
    ['evaluation', renderEvaluation],
    ['selection', renderSelection],
    ['counts', renderCounts],
    ['history', renderHistory],
    ['alerts', renderAlerts],
  ]) {
    try {
      fn(snap);
    } catch (err) {
      console.warn(`umbra: could not render ${name}:`, err);
    }
  }
  document.documentElement.dataset.snapshotTs = snap.ts;
}

// ---------------------------------------------------------------------------------------------
// Transport: server-sent events, polling when the stream fails

async function fetchSnapshot() {
  try {
    const res = await fetch('/api/dashboard', { cache: 'no-store', headers: { accept: 'application/json' } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    apply(await res.text());
    if (state.transport !== 'live') setLive(state.pollTimer !== null ? 'polling' : state.transport);
    return true;
  } catch {
    if (state.transport !== 'live') setLive('offline');
    return false;
  }
}

function startPolling() {
  if (state.pollTimer !== null) return;
  const tick = async () => {
    await fetchSnapshot();
    if (state.pollTimer !== null) state.pollTimer = setTimeout(tick, POLL_MS);
  };
  state.pollTimer = setTimeout(tick, 0);
  setLive('polling');
}

function stopPolling() {
  if (state.pollTimer === null) return;
  clearTimeout(state.pollTimer);
  state.pollTimer = null;
}

function connect() {
  state.sseRetryTimer = null;
  if (typeof EventSource !== 'function') {
    startPolling();
    return;
  }
  const es = new EventSource('/api/stream');
  state.es = es;
  es.addEventListener('open', () => {
    stopPolling();
    setLive('live');
  });
  es.addEventListener('snapshot', (e) => apply(e.data));
  es.addEventListener('error', () => {
    // EventSource reconnects on its own, but a refused or broken stream can leave the page
    // frozen; poll meanwhile and try the stream again later.
    es.close();
    if (state.es === es) state.es = null;
    setLive('polling');
    startPolling();
    if (state.sseRetryTimer === null) state.sseRetryTimer = setTimeout(connect, SSE_RETRY_MS);
  });
}

// ---------------------------------------------------------------------------------------------
// Admin actions

const ADMIN_TEXT = {
  promote: { title: 'Promote the candidate', explain: 'Moves the candidate one stage on (shadow → canary → production). The server checks the gates first.' },
  pause: { title: 'Pause the rollout', explain: 'Holds the rollout at its current stage: no automatic transitions until it is resumed.' },
  resume: { title: 'Resume the rollout', explain: 'Continues a paused rollout; the gates are checked again.' },
  rollback: { title: 'Roll back', explain: 'Sends all traffic back to the champion at once. Always allowed; no analysis.' },
  register: { title: 'Register a candidate', explain: 'Checks the artifact (hashes, compatibility with the running config), saves it with its offline evaluation and puts it into the shadow. The same path as `umbra rollout register`; recorded in the audit log.' },
};
/** Actions whose reason is required. */
const REASON_REQUIRED = new Set(['rollback', 'register']);

function loadToken() {
  try {
    state.token = localStorage.getItem(TOKEN_KEY) || null;
  } catch {
    state.token = null;
  }
  $('btn-forget').hidden = state.token === null;
}

function forgetToken() {
  state.token = null;
  try {
    localStorage.removeItem(TOKEN_KEY);
  } catch {
    // storage may be disabled; the in-memory token is gone either way
  }
  $('btn-forget').hidden = true;
}

let pendingAction = null;

function openAdmin(action) {
  const text = ADMIN_TEXT[action];
  pendingAction = action;
  $('admin-title').textContent = text.title;
  $('admin-explain').textContent = text.explain;
  const needToken = state.token === null;
  $('token-row').hidden = !needToken;
  $('remember-row').hidden = !needToken;
  $('admin-token').required = needToken;
  $('admin-token').value = '';
  const reason = $('admin-reason');
  reason.value = '';
  reason.required = REASON_REQUIRED.has(action);
  $('reason-req').textContent = REASON_REQUIRED.has(action) ? '(required)' : '(recorded in the audit log)';
  const register = action === 'register';
  $('register-fields').hidden = !register;
  $('admin-artifact').required = register;
  if (register) {
    $('admin-artifact').value = '';
    $('admin-point').value = '';
  }
  $('admin-submit').textContent = text.title.split(' ')[0];
  $('admin-submit').classList.toggle('danger', action === 'rollback');
  $('admin-dialog').showModal();
  (needToken ? $('admin-token') : register ? $('admin-artifact') : reason).focus();
}

async function sendAdmin(action, reason, extra = {}) {
  const buttons = document.querySelectorAll('.admin .btn');
  buttons.forEach((b) => (b.disabled = true));
  try {
    const res = await fetch(`/v1/admin/rollout/${encodeURIComponent(action)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${state.token}` },
      body: JSON.stringify({ reason, ...extra }),
    });
    let body = null;
    try {
      body = await res.json();
    } catch {
      body = null;
    }
    if (!res.ok) {
      const code = body?.error?.code ?? `HTTP ${res.status}`;
      const message = body?.error?.message ?? res.statusText;
      if (res.status === 401 || res.status === 403) forgetToken();
      toast('error', `${action} refused`, `${code}: ${message}`);
      return;
    }
    toast('ok', `${action}: done`, describeAnswer(body));
    await fetchSnapshot();
  } catch (err) {
    toast('error', `${action} failed`, `the server did not answer (${err?.message ?? err})`);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

function describeAnswer(body) {
  if (body === null || typeof body !== 'object') return 'the server accepted the request';
  if (typeof body.message === 'string') return body.message;
  const from = body.from ?? body.previous?.stage;
  const to = body.to ?? body.stage ?? body.status?.stage;
  if (typeof to === 'string') return from ? `${stageLabel(from)} → ${stageLabel(to)}` : `stage: ${stageLabel(to)}`;
  return 'the server accepted the request';
}

function toast(kind, title, text) {
  const node = h('div', { class: `toast ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('strong', null, title), h('div', null, text));
  const close = () => node.remove();
  node.addEventListener('click', close);
  $('toasts').append(node);
  setTimeout(close, kind === 'error' ? 12_000 : 6_000);
}

function setupAdmin() {
  loadToken();
  for (const b of document.querySelectorAll('.admin [data-action]')) {
    b.addEventListener('click', () => openAdmin(b.dataset.action));
  }
  $('btn-forget').addEventListener('click', () => {
    forgetToken();
    toast('ok', 'Token forgotten', 'the next admin action asks for it again');
  });
  $('admin-cancel').addEventListener('click', () => $('admin-dialog').close());
  $('admin-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const action = pendingAction;
    if (!action) return;
    if (state.token === null) {
      const token = $('admin-token').value.trim();
      if (!token) return;
      state.token = token;
      if ($('admin-remember').checked) {
        try {
          localStorage.setItem(TOKEN_KEY, token);
          $('btn-forget').hidden = false;
        } catch {
          // kept in memory only
        }
      }
    }
    const reason = $('admin-reason').value.trim();
    if (REASON_REQUIRED.has(action) && !reason) return;
    const extra = {};
    if (action === 'register') {
      const artifact = $('admin-artifact').value.trim();
      if (!artifact) return;
      extra.artifact = artifact;
      const point = $('admin-point').value.trim();
      if (point) extra.point = point;
    }
    $('admin-dialog').close();
    pendingAction = null;
    void sendAdmin(action, reason, extra);
  });
}

// ---------------------------------------------------------------------------------------------
// Layout helpers and start

function watchWidth(node, onWidth) {
  let last = node.clientWidth;
  const ro = new window.ResizeObserver(() => {
    const w = node.clientWidth;
    if (w > 0 && w !== last) {
      last = w;
      onWidth(w);
    }
  });
  ro.observe(node);
}

function start() {
  if (!hasUplot) {
    for (const node of document.querySelectorAll('#chart-value .empty')) {
      node.hidden = false;
      node.textContent = 'charts unavailable: uPlot did not load';
    }
  }
  watchWidth($('chart-actions'), drawBars);
  setupAdmin();
  setLive('connecting');
  setInterval(renderClock, 1000);
  // The server embeds the snapshot of the moment in the page, so it shows data at once (also to a
  // plain `chromium --headless --screenshot`); the stream and polls take over from there.
  const initial = document.getElementById('initial-snapshot');
  if (initial?.textContent) apply(initial.textContent);
  void fetchSnapshot();
  connect();
}

start();
