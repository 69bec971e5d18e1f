/**
 * Off-policy estimators in one streaming pass: IPS, clipped IPS, SNIPS, DM, DR and Switch-DR, the
 * logging policy's own value, and the diagnostics that say whether to believe them. Memory does not
 * depend on the log length (moments, a weight sketch, a bounded heap, a blockwise bootstrap).
 *
 * What the seed got wrong and this module refuses to do: a missing propensity is never silently a
 * weight of 1. A log from a deterministic rule router identifies nothing about actions the router
 * never takes, so for a target that puts mass on them the weighted estimators report `null` with a
 * reason, and the report keeps to what the data supports: the agreement slice, worst-case bounds,
 * and DM labelled as model-based (summary.ts).
 */
import { PoissonBootstrap, poissonBootstrapSums } from './intervals.js';
import { compileOpeOptions, type CompiledOpeOptions, type EstimatorName, type OpeOptions, type OpeReport } from './report.js';
import { Col, COLS, Sums } from './sums.js';
import { summarise } from './summary.js';
import type { LoggedSample } from './types.js';

export * from './report.js';

const PROB_TOL = 1e-6;
const ONE_TOL = 1e-12;


/**
 * The bootstrap's input when it is collected rather than streamed: one array per bootstrapped
 * column of the per-event contributions, the resamples and the seed. `poissonBootstrapSums` (or any
 * split of the columns among threads, each with the same seed) turns it into the sums `report` takes.
 */
export interface BootstrapWork {
  columns: Float64Array[];
  resamples: number;
  seed: number;
}

/** Options of the accumulator itself (besides the estimators'). */
export interface AccumulatorOptions {
  /**
   * Keep the per-event contributions (8 bytes per event and bootstrapped column) instead of
   * streaming them into the bootstrap, so that the caller can run the bootstrap elsewhere
   * (`bootstrapWork`, then `report(sums)`); the numbers are the same. @default false
   */
  collectBootstrap?: boolean;
}

/**
 * A growable Float64 array in shared memory, so that a bootstrap on other threads reads the
 * collected contributions in place instead of a copy.
 */
class Growable {
  data = Growable.alloc(4096);
  n = 0;
  private static alloc(length: number): Float64Array {
    return new Float64Array(new SharedArrayBuffer(length * 8));
  }
  push(x: number): void {
    if (this.n === this.data.length) {
      const next = Growable.alloc(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = x;
  }
}

/**
 * The streaming evaluator: `add` each logged sample (any order, any count), then `report()`.
 * Invalid samples are counted with a reason, never thrown: a long-running caller cannot be
 * crashed by one bad event.
 */
export class OpeAccumulator {
  readonly options: CompiledOpeOptions;
  private readonly want: ReadonlySet<EstimatorName>;
  private readonly s = new Sums();
  private readonly boot: PoissonBootstrap | undefined;
  private readonly collected: Growable[] | undefined;
  private readonly row = new Float64Array(COLS);
  private readonly all = new Float64Array(COLS);
  private readonly cols: number[];

  constructor(options: OpeOptions = {}, accumulator: AccumulatorOptions = {}) {
    this.options = compileOpeOptions(options);
    this.want = new Set(this.options.estimators);
    if (this.options.bootstrap > 0) {
      const cols: number[] = [Col.R];
      const w = this.want;
      if (w.has('ips') || w.has('snips')) cols.push(Col.WR);
      if (w.has('snips')) cols.push(Col.W);
      if (w.has('clipped_ips')) cols.push(Col.CWR);
      if (w.has('dm')) cols.push(Col.DM);
      if (w.has('dr')) cols.push(Col.DR);
      if (w.has('switch_dr')) cols.push(Col.SDR);
      this.cols = cols;
      if (accumulator.collectBootstrap === true) {
        this.collected = cols.map(() => new Growable());
        this.boot = undefined;
      } else {
        this.collected = undefined;
        this.boot = new PoissonBootstrap(cols.length, this.options.bootstrap, this.options.seed);
      }
    } else {
      this.cols = [];
      this.boot = undefined;
      this.collected = undefined;
    }
  }

  /** The collected bootstrap input (with `collectBootstrap`), or undefined. */
  bootstrapWork(): BootstrapWork | undefined {
    if (this.collected === undefined) return undefined;
    return { columns: this.collected.map((g) => g.data.subarray(0, g.n)), resamples: this.options.bootstrap, seed: this.options.seed };
  }

  /** Events accepted so far. */
  get count(): number {
    return this.s.n;
  }

  /** Count an event that could not become a sample (reported under `invalid` with this reason). */
  reject(reason: string): false {
    this.s.invalid[reason] = (this.s.invalid[reason] ?? 0) + 1;
    return false;
  }

  /** Add one sample; returns false (and counts the reason) when it is invalid. */
  add(x: LoggedSample): boolean {
    const s = this.s;
    const pi = x.targetProbs;
    const k = pi.length;
    const a = x.action;
    const r = x.reward;
    if (!(k >= 1)) return this.reject('no_actions');
    if (!Number.isInteger(a) || a < 0 || a >= k) return this.reject('action_out_of_range');
    if (!(r >= 0 && r <= 1)) return this.reject('reward_out_of_range');
    let sum = 0;
    let best = -1;
    for (let i = 0; i < k; i++) {
      const p = pi[i]!;
      if (!(p >= 0 && p <= 1 + PROB_TOL)) return this.reject('target_prob_invalid');
      sum += p;
      if (p > best) best = p;
    }
    if (Math.abs(sum - 1) > PROB_TOL) return this.reject('target_probs_not_normalised');
    const lp = x.loggingProbs;
    if (lp !== undefined && lp.length !== k) return this.reject('logging_probs_length');
    const pr = x.predicted;
    if (pr !== undefined && pr.length !== k) return this.reject('predicted_length');
    const mu = x.loggingProb ?? (lp === undefined ? undefined : lp[a]);
    if (mu !== undefined && !(mu > 0 && mu <= 1 + PROB_TOL)) return this.reject('logging_prob_invalid');

    const piA = pi[a]!;
    const missing = mu === undefined;
    // A missing propensity is the documented assumption "deterministic logger": μ(a_i) = 1, counted.
    const w = missing ? piA : piA / mu;
    s.n++;
    if (missing) s.missing++;
    else if (mu >= 1 - ONE_TOL) s.ones++;
    if (x.defaulted === true) s.defaulted++;

    // Support of the target under the logger.
    if (lp !== undefined) {
      let u = 0;
      for (let i = 0; i < k; i++) if (!(lp[i]! > 0)) u += pi[i]!;
      s.exactN++;
      s.exactDeficit += u;
    } else if (missing || mu >= 1 - ONE_TOL) {
      s.exactN++;
      s.exactDeficit += Math.max(0, 1 - piA);
    } else {
      s.partialN++;
      s.partialW += w;
      s.partialW2 += w * w;
    }

    // Agreement with the logger (and with the rules' own choice when logged).
    s.sumPiA += piA;
    const agrees = piA >= best;
    if (agrees) {
      s.agree++;
      s.mSlice.add(r);
    }
    if (x.baseline !== undefined && x.baseline >= 0 && x.baseline < k) {
      s.baselineN++;
      if (pi[x.baseline]! >= best) s.baselineAgree++;
    }

    // Weighted contributions.
    const wr = w * r;
    const cw = w > this.options.clip ? this.options.clip : w;
    if (w > this.options.clip) s.clipped++;
    s.mR.add(r);
    s.mIps.add(wr);
    s.mClip.add(cw * r);
    s.sW += w;
    s.sW2 += w * w;
    s.sWR += wr;
    s.sWR2 += wr * wr;
    s.sW_WR += w * wr;
    s.sketch.add(w);
    s.top.add(w);
    s.mLo.add(piA * r);
    s.mHi.add(piA * r + (1 - piA));

    let dm = 0;
    let dr = 0;
    let sdr = 0;
    if (pr !== undefined) {
      for (let i = 0; i < k; i++) dm += pi[i]! * pr[i]!;
      const qa = pr[a]!;
      dr = dm + w * (r - qa);
      const lo = dm - w * qa;
      const hi = dm + w * (1 - qa);
      if (lo < s.drLo) s.drLo = lo;
      if (hi > s.drHi) s.drHi = hi;
      if (w > this.options.switchTau) {
        s.switched++;
        sdr = dm;
        if (dm < s.sdrLo) s.sdrLo = dm;
        if (dm > s.sdrHi) s.sdrHi = dm;
      } else {
        sdr = dr;
        if (lo < s.sdrLo) s.sdrLo = lo;
        if (hi > s.sdrHi) s.sdrHi = hi;
      }
      s.mDm.add(dm);
      s.mDr.add(dr);
      s.mSdr.add(sdr);
    } else s.noPrediction++;

    if (this.boot !== undefined || this.collected !== undefined) {
      const all = this.all;
      all[Col.R] = r;
      all[Col.WR] = wr;
      all[Col.W] = w;
      all[Col.CWR] = cw * r;
      all[Col.DM] = dm;
      all[Col.DR] = dr;
      all[Col.SDR] = sdr;
      const row = this.row;
      const cols = this.cols;
      if (this.collected !== undefined) for (let i = 0; i < cols.length; i++) this.collected[i]!.push(all[cols[i]!]!);
      else {
        for (let i = 0; i < cols.length; i++) row[i] = all[cols[i]!]!;
        this.boot!.push(row);
      }
    }
    return true;
  }

  /** Add many samples. */
  addAll(samples: Iterable<LoggedSample>): this {
    for (const s of samples) this.add(s);
    return this;
  }

  /**
   * The report for everything added so far (the accumulator stays usable). With
   * `collectBootstrap`, `sums` are the bootstrap's sums of `bootstrapWork()` computed elsewhere;
   * without them the bootstrap runs here.
   */
  report(sums?: Float64Array): OpeReport {
    if (this.boot !== undefined) return summarise(this.s, this.options, { sums: this.boot.sums(), cols: this.cols });
    const work = this.bootstrapWork();
    if (work === undefined) return summarise(this.s, this.options, undefined);
    return summarise(this.s, this.options, { sums: sums ?? poissonBootstrapSums(work.columns, work.resamples, work.seed), cols: this.cols });
  }
}

/** Evaluate a target policy on logged samples in one pass (see `OpeAccumulator`). */
export function evaluateOffPolicy(samples: Iterable<LoggedSample>, options: OpeOptions = {}): OpeReport {
  return new OpeAccumulator(options).addAll(samples).report();
}
