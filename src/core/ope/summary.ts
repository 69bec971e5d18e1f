/**
 * From accumulated sums to the report an off-policy evaluation gives (see `summarise`).
 */
import {
  IntervalMethod,
  bernsteinHalfWidth,
  bernsteinInterval,
  clampInterval,
  normalInterval,
  percentileInterval,
  zFor,
  type Ci,
} from './intervals.js';
import {
  EXPLORATION_FIX,
  MODEL_ESTIMATORS,
  OpeFlag,
  WEIGHTED,
  type CompiledOpeOptions,
  type EstimatorName,
  type OpeDiagnostics,
  type OpeEstimate,
  type OpeIdentification,
  type OpeReport,
} from './report.js';
import { Col, type Moments, type Sums } from './sums.js';
import { weightTailIndex } from './weights.js';

/** Bootstrap percentile intervals per column, and SNIPS's (a ratio of two columns). */
interface BootstrapCis {
  byCol: Map<number, Ci>;
  snips: Ci | undefined;
}

/** What the diagnostics established, for the estimates and warnings that follow. */
interface Facts {
  n: number;
  maxW: number;
  tail: number;
  ess: number;
  ipsHalf: number;
  maxInfluence: number;
  supportDeficit: number;
  supportMethod: 'exact' | 'estimated' | 'mixed';
  deterministic: boolean;
  unsupportedMass: number;
  unidentified: boolean;
  heavy: boolean;
  invalidTotal: number;
}

/**
 * The report of the accumulated sums: bootstrap intervals from the per-resample sums, diagnostics
 * and flags, every estimate with its intervals (null with a reason where the log identifies
 * nothing), what the log supports, and warnings for people.
 */
export function summarise(s: Sums, o: CompiledOpeOptions, boot: { sums: Float64Array; cols: readonly number[] } | undefined): OpeReport {
  const cis = bootstrapCis(s.n, o, boot);
  const { diagnostics, facts } = diagnose(s, o);
  const unidReason =
    `unidentified: the log comes from a deterministic logger (${s.missing > 0 ? 'propensities missing' : 'every propensity is 1'}) ` +
    `and the target puts ${(facts.unsupportedMass * 100).toFixed(1)} % of its mass on actions the logger never took; ` +
    'no reweighting of this log can say what those actions would have earned';
  const { estimates, logging } = estimatesOf(s, o, facts, cis, unidReason);
  const identification = identify(s, o, facts, unidReason);
  return {
    n: s.n,
    invalid: { ...s.invalid },
    confidence: o.confidence,
    estimates,
    logging,
    diagnostics,
    identification,
    warnings: warningsOf(s, o, facts, diagnostics.flags, identification),
    settings: { clip: o.clip, switchTau: o.switchTau, bootstrap: o.bootstrap, seed: o.seed, interval: o.interval },
  };
}

function bootstrapCis(n: number, o: CompiledOpeOptions, boot: { sums: Float64Array; cols: readonly number[] } | undefined): BootstrapCis {
  const conf = o.confidence;
  const byCol = new Map<number, Ci>();
  let snipsCi: Ci | undefined;
  if (boot !== undefined && n > 0) {
    const sums = boot.sums;
    const K = boot.cols.length;
    const B = o.bootstrap;
    const stat = new Float64Array(B);
    for (let j = 0; j < K; j++) {
      for (let b = 0; b < B; b++) {
        const cnt = sums[b * (K + 1) + K]!;
        stat[b] = cnt > 0 ? sums[b * (K + 1) + j]! / cnt : NaN;
      }
      byCol.set(boot.cols[j]!, percentileInterval(stat, conf));
    }
    const iWr = boot.cols.indexOf(Col.WR);
    const iW = boot.cols.indexOf(Col.W);
    if (iWr >= 0 && iW >= 0) {
      for (let b = 0; b < B; b++) {
        const den = sums[b * (K + 1) + iW]!;
        stat[b] = den > 0 ? sums[b * (K + 1) + iWr]! / den : NaN;
      }
      snipsCi = percentileInterval(stat, conf);
    }
  }
  return { byCol, snips: snipsCi };
}

/** The diagnostics and flags, and the facts the rest of the report rests on. */
function diagnose(s: Sums, o: CompiledOpeOptions): { diagnostics: OpeDiagnostics; facts: Facts } {
  const n = s.n;
  const conf = o.confidence;
  const flags: OpeFlag[] = [];
  const ess = s.sW2 > 0 ? (s.sW * s.sW) / s.sW2 : 0;
  const tail = weightTailIndex(s.top.sorted(), n);
  const maxW = n > 0 ? s.sketch.max : 0;
  const partialDeficit = s.partialN > 0 ? s.partialN * Math.max(0, 1 - s.partialW / s.partialN) : 0;
  const supportDeficit = n > 0 ? (s.exactDeficit + partialDeficit) / n : 0;
  const supportMethod = s.partialN === 0 ? 'exact' : s.exactN === 0 ? 'estimated' : 'mixed';
  const deterministic = n > 0 && s.missing + s.ones === n;
  const unsupportedMass = n > 0 ? s.exactDeficit / n : 0;
  const unidentified = deterministic && unsupportedMass > 1e-9;
  const ipsHalf = n > 1 ? zFor(conf) * Math.sqrt(s.mIps.variance / n) : Infinity;
  const maxInfluence = n > 0 ? maxW / n : 0;
  const heavy =
    n > 0 && !deterministic && ((Number.isFinite(tail) && tail > o.maxTailIndex) || (maxW > 1 && maxInfluence > ipsHalf));

  if (deterministic) flags.push(OpeFlag.DETERMINISTIC_LOGGER);
  if (unidentified) flags.push(OpeFlag.UNIDENTIFIED);
  if (s.missing > 0) flags.push(OpeFlag.PROPENSITY_MISSING);
  // An estimated deficit is noisy (it is 1 − mean weight): flag it only when it is clearly there.
  let partialSe = 0;
  if (s.partialN > 1) {
    const m = s.partialW / s.partialN;
    const v = Math.max(0, s.partialW2 / s.partialN - m * m) * (s.partialN / (s.partialN - 1));
    partialSe = (zFor(conf) * Math.sqrt(v / s.partialN) * s.partialN) / n;
  }
  if (supportDeficit - partialSe > o.supportWarn) flags.push(OpeFlag.SUPPORT_DEFICIT);
  if (!deterministic && ess < o.minEss) flags.push(OpeFlag.LOW_ESS);
  if (heavy) flags.push(OpeFlag.HEAVY_TAIL);
  if (s.defaulted > 0) flags.push(OpeFlag.DEFAULTED_REWARDS);
  const invalidTotal = Object.values(s.invalid).reduce((x, y) => x + y, 0);
  if (invalidTotal > 0) flags.push(OpeFlag.INVALID_EVENTS);

  const diagnostics: OpeDiagnostics = {
    n,
    ess,
    essRatio: n > 0 ? ess / n : 0,
    meanWeight: n > 0 ? s.sW / n : 0,
    maxWeight: maxW,
    minWeight: n > 0 ? s.sketch.min : 0,
    weightQuantiles: {
      p50: n > 0 ? s.sketch.quantile(0.5) : 0,
      p90: n > 0 ? s.sketch.quantile(0.9) : 0,
      p99: n > 0 ? s.sketch.quantile(0.99) : 0,
      p999: n > 0 ? s.sketch.quantile(0.999) : 0,
    },
    tailIndex: Number.isFinite(tail) ? tail : null,
    maxInfluence,
    supportDeficit,
    supportDeficitMethod: supportMethod,
    agreementRate: n > 0 ? s.agree / n : 0,
    expectedAgreement: n > 0 ? s.sumPiA / n : 0,
    baselineAgreement: s.baselineN > 0 ? s.baselineAgree / s.baselineN : null,
    defaultedRewards: s.defaulted,
    missingPropensities: s.missing,
    clippedEvents: s.clipped,
    switchedEvents: s.switched,
    flags,
  };
  const facts: Facts = { n, maxW, tail, ess, ipsHalf, maxInfluence, supportDeficit, supportMethod, deterministic, unsupportedMass, unidentified, heavy, invalidTotal };
  return { diagnostics, facts };
}

/** Every requested estimate (null with a reason where the log cannot support it) and the logger's own value. */
function estimatesOf(s: Sums, o: CompiledOpeOptions, f: Facts, cis: BootstrapCis, unidReason: string): { estimates: Partial<Record<EstimatorName, OpeEstimate>>; logging: OpeEstimate } {
  const { n, maxW, unidentified } = f;
  const conf = o.confidence;
  // Bernstein needs the range the contributions could take (rewards anywhere in [0, 1]), not the
  // observed one: a log whose rewards happen to be all 0 would otherwise get a zero-width bound.
  const meanEstimate = (method: EstimatorName | 'logging', m: Moments, col: number, range: Ci, label?: 'model-based'): OpeEstimate => {
    const intervals: Partial<Record<IntervalMethod, Ci>> = {
      normal: clampInterval(normalInterval(m.mean, m.variance, m.n, conf)),
      bernstein: clampInterval(bernsteinInterval(m.mean, m.variance, m.n, range[1] - range[0], conf)),
    };
    const b = cis.byCol.get(col);
    if (b !== undefined) intervals.bootstrap = clampInterval(b);
    const v = m.variance / m.n;
    const e: OpeEstimate = {
      method,
      value: m.mean,
      ci: intervals[o.interval] ?? intervals.normal ?? null,
      interval: intervals[o.interval] !== undefined ? o.interval : IntervalMethod.NORMAL,
      intervals,
      n: m.n,
      stderr: Math.sqrt(v),
      variance: v,
      sampleVariance: m.variance,
      range,
    };
    if (label !== undefined) e.label = label;
    return e;
  };
  const nullEstimate = (method: EstimatorName | 'logging', reason: string, label?: 'model-based'): OpeEstimate => {
    const e: OpeEstimate = { method, value: null, ci: null, interval: o.interval, intervals: {}, n, stderr: null, variance: null, sampleVariance: null, range: null, reason };
    if (label !== undefined) e.label = label;
    return e;
  };

  const estimates: Partial<Record<EstimatorName, OpeEstimate>> = {};
  const logging = n > 0 ? meanEstimate('logging', s.mR, Col.R, [0, 1]) : nullEstimate('logging', 'no events');
  for (const name of o.estimators) {
    if (n === 0) {
      estimates[name] = nullEstimate(name, 'no events', MODEL_ESTIMATORS.includes(name) ? 'model-based' : undefined);
      continue;
    }
    if (unidentified && WEIGHTED.has(name)) {
      estimates[name] = nullEstimate(name, unidReason);
      continue;
    }
    if (MODEL_ESTIMATORS.includes(name) && s.noPrediction > 0) {
      estimates[name] = nullEstimate(name, `no reward-model predictions for ${s.noPrediction} of ${n} events`, name === 'dm' ? 'model-based' : undefined);
      continue;
    }
    switch (name) {
      case 'ips':
        estimates.ips = meanEstimate('ips', s.mIps, Col.WR, [0, maxW]);
        break;
      case 'clipped_ips': {
        const e = meanEstimate('clipped_ips', s.mClip, Col.CWR, [0, Math.min(maxW, o.clip)]);
        if (s.clipped > 0) e.reason = `${s.clipped} events had weights above ${o.clip} and were clipped: biased downwards by design`;
        estimates.clipped_ips = e;
        break;
      }
      case 'snips':
        estimates.snips = snips(s, o, cis.snips);
        break;
      case 'dm': {
        const e = meanEstimate('dm', s.mDm, Col.DM, [0, 1], 'model-based');
        e.reason = 'model-based: rests on the reward model, not on logged rewards; its bias is not covered by the interval';
        estimates.dm = e;
        break;
      }
      case 'dr':
        estimates.dr = meanEstimate('dr', s.mDr, Col.DR, [s.drLo, s.drHi]);
        break;
      case 'switch_dr': {
        const e = meanEstimate('switch_dr', s.mSdr, Col.SDR, [s.sdrLo, s.sdrHi]);
        if (s.switched > 0) e.reason = `${s.switched} events with weight above ${o.switchTau} used the reward model only`;
        estimates.switch_dr = e;
        break;
      }
    }
  }
  return { estimates, logging };
}

/** What the log supports when it does not identify the weighted estimators: the agreement slice and worst-case bounds. */
function identify(s: Sums, o: CompiledOpeOptions, f: Facts, unidReason: string): OpeIdentification {
  const { n, deterministic, unidentified } = f;
  const conf = o.confidence;
  const slice = s.mSlice;
  const identification: OpeIdentification = {
    status: unidentified ? 'unidentified' : 'identified',
    deterministicLogger: deterministic,
    agreementSlice: {
      n: slice.n,
      share: n > 0 ? slice.n / n : 0,
      value: slice.n > 0 ? slice.mean : null,
      ci: slice.n > 0 ? clampInterval(normalInterval(slice.mean, slice.variance, slice.n, conf)) : null,
    },
    bounds: null,
  };
  if (deterministic) {
    const lo = s.mLo;
    const hi = s.mHi;
    const z = normalInterval(lo.mean, lo.variance, lo.n, conf)[0];
    const zh = normalInterval(hi.mean, hi.variance, hi.n, conf)[1];
    identification.bounds = {
      lo: lo.mean,
      hi: hi.mean,
      ci: clampInterval([z, zh]),
      note: 'worst-case bounds: logged rewards where the target takes the logged action, anything in [0, 1] elsewhere',
    };
  }
  if (unidentified) {
    identification.reason = unidReason;
    identification.fix = EXPLORATION_FIX;
  }
  return identification;
}

/** Sentences for people: what to distrust and why. */
function warningsOf(s: Sums, o: CompiledOpeOptions, f: Facts, flags: readonly OpeFlag[], identification: OpeIdentification): string[] {
  const { n, deterministic, unidentified, heavy, maxW, maxInfluence, ipsHalf, tail, ess, supportDeficit, supportMethod, invalidTotal } = f;
  const warnings: string[] = [];
  const slice = s.mSlice;
  if (unidentified) {
    warnings.push(`IPS, SNIPS and DR are not reported: ${identification.reason}.`);
    warnings.push(
      `Supported claims only: on the agreement slice (${slice.n} of ${n} events) the logged mean reward is ` +
        `${slice.n > 0 ? slice.mean.toFixed(4) : 'n/a'}; the target's value lies in [${identification.bounds?.lo.toFixed(4)}, ` +
        `${identification.bounds?.hi.toFixed(4)}] whatever the unseen rewards are; DM is model-based and extrapolates to actions never observed.`,
    );
    warnings.push(`Fix: ${EXPLORATION_FIX}`);
  } else if (deterministic) {
    warnings.push('The logger is deterministic; the target takes the logged action everywhere, so its value is the logged mean reward.');
  }
  if (s.missing > 0 && !deterministic) {
    warnings.push(`${s.missing} of ${n} events had no propensity and were taken as deterministic (propensity 1); their off-action mass counts as unsupported.`);
  }
  if (flags.includes(OpeFlag.SUPPORT_DEFICIT)) {
    warnings.push(
      `Support deficit ${(supportDeficit * 100).toFixed(1)} % (${supportMethod}): that share of the target's mass has no logged support; weighted estimates miss it.`,
    );
  }
  if (heavy) {
    warnings.push(
      `Heavy-tailed weights: max weight ${maxW.toFixed(1)} (one event can move IPS by ${maxInfluence.toPrecision(3)}, ` +
        `more than the normal interval's half-width ${Number.isFinite(ipsHalf) ? ipsHalf.toPrecision(3) : 'n/a'})` +
        `${Number.isFinite(tail) ? `, tail index ${tail.toFixed(2)}` : ''}, ESS ${ess.toFixed(0)} of ${n}. ` +
        'The normal and bootstrap intervals are not trustworthy here; use the Bernstein interval or more data.',
    );
  }
  if (flags.includes(OpeFlag.LOW_ESS)) warnings.push(`Effective sample size ${ess.toFixed(1)} is below ${o.minEss}.`);
  if (s.defaulted > 0) warnings.push(`${s.defaulted} rewards were defaulted (no outcome arrived).`);
  if (invalidTotal > 0) warnings.push(`${invalidTotal} events were rejected: ${Object.entries(s.invalid).map(([k, v]) => `${k} ${v}`).join(', ')}.`);
  return warnings;
}

/** SNIPS Σwr / Σw with the delta-method variance and a union-bound Bernstein interval. */
function snips(s: Sums, o: CompiledOpeOptions, boot: Ci | undefined): OpeEstimate {
  const n = s.n;
  const conf = o.confidence;
  if (!(s.sW > 0)) {
    return {
      method: 'snips',
      value: null,
      ci: null,
      interval: o.interval,
      intervals: {},
      n,
      stderr: null,
      variance: null,
      sampleVariance: null,
      range: null,
      reason: 'the target puts no probability on any logged action',
    };
  }
  const v = s.sWR / s.sW;
  const wbar = s.sW / n;
  // Σ (w r − V w)² / (n − 1), divided by w̄²: the variance of the linearised contributions.
  const ss = Math.max(0, s.sWR2 - 2 * v * s.sW_WR + v * v * s.sW2);
  const sampleVariance = n > 1 ? ss / (n - 1) / (wbar * wbar) : 0;
  const variance = sampleVariance / n;
  const intervals: Partial<Record<IntervalMethod, Ci>> = {
    normal: clampInterval(normalInterval(v, sampleVariance, n, conf)),
  };
  // Bernstein for a ratio: bound numerator and denominator means, each at δ/4 per side.
  const delta = (1 - conf) / 4;
  const wRange = s.sketch.max - s.sketch.min;
  const wVar = n > 1 ? Math.max(0, s.sW2 - (s.sW * s.sW) / n) / (n - 1) : 0;
  const hNum = bernsteinHalfWidth(s.mIps.variance, n, s.sketch.max, delta);
  const hDen = bernsteinHalfWidth(wVar, n, wRange, delta);
  const numMean = s.sWR / n;
  const denLo = wbar - hDen;
  const lo = Math.max(0, numMean - hNum) / (wbar + hDen);
  const hi = denLo > 0 ? (numMean + hNum) / denLo : 1;
  intervals.bernstein = clampInterval([lo, hi]);
  if (boot !== undefined) intervals.bootstrap = clampInterval(boot);
  return {
    method: 'snips',
    value: v,
    ci: intervals[o.interval] ?? intervals.normal ?? null,
    interval: intervals[o.interval] !== undefined ? o.interval : IntervalMethod.NORMAL,
    intervals,
    n,
    stderr: Math.sqrt(variance),
    variance,
    sampleVariance,
    range: [0, s.sketch.max],
  };
}
