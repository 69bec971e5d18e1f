/**
 * The decision rows of the decision table, in columns: typed arrays for times, actions,
 * propensities, probabilities and rewards, interned strings for points, action lists and policies,
 * and the context object itself; row r is the decision with sequence number r + 1. Readers that
 * work on arrays (OPE, training) read the columns through the accessors; `eventAt` rebuilds an event.
 */
import type { Context, DecisionEvent, OutcomeSignals } from '../../core/events.js';
import { isoEpochMs } from '../../core/telemetry/timestamps.js';
import { F64Column, I32Column, IdIndex, Interner } from './columns.js';

const ACTIONS_SEPARATOR = '\u0000';
/** Context strings up to this length are shared (longer ones are free text, rarely repeated). */
const SHARED_STRING_MAX = 40;
/** Distinct shared strings kept at most (beyond it, new values are kept as they come). */
const SHARED_STRINGS_LIMIT = 65_536;

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The rows (see the module comment). With `owned`, events are taken over and handed out without copies. */
export class DecisionRows {
  private readonly owned: boolean;
  private readonly sharedStrings = new Map<string, string>();
  private readonly idList: string[] = [];
  private readonly tsList: string[] = [];
  private readonly tsMsCol = new F64Column();
  private readonly pointCol = new I32Column();
  private readonly actionSetCol = new I32Column();
  private readonly actionCol = new I32Column();
  private readonly propensityCol = new F64Column();
  /** Offset of the row's probabilities in `probsPool` (aligned with its action list; NaN = key absent), or -1. */
  private readonly probsAtCol = new I32Column();
  private readonly probsPool = new F64Column();
  /** The original `probs` object of rows whose keys are not in action-list order (so it reads back exactly). */
  private readonly probsObject = new Map<number, Record<string, number>>();
  private readonly baselineCol = new I32Column();
  private readonly policyCol = new I32Column();
  private readonly rewardCol = new F64Column();
  private readonly outcomeList: (OutcomeSignals | undefined)[] = [];
  private readonly contextList: Context[] = [];
  private readonly index = new IdIndex((row) => this.idList[row]!);
  private readonly points = new Interner();
  private readonly actionSets = new Interner();
  private readonly actionLists: string[][] = [];
  private readonly policies = new Interner();

  /** The last action list and point seen (logs repeat them row after row). */
  private lastSet = -1;
  private lastPoint = '';
  private lastPointId = -1;

  constructor(owned: boolean) {
    this.owned = owned;
  }

  /** Rows stored. */
  get size(): number {
    return this.idList.length;
  }

  // --- the columns, for readers that work on arrays (OPE, training) ------------------------------

  /** Row of a decision id, or -1. */
  rowOf(id: string): number {
    return this.index.get(id);
  }
  idAt(row: number): string {
    return this.idList[row]!;
  }
  tsMsAt(row: number): number {
    return this.tsMsCol.data[row]!;
  }
  pointAt(row: number): string {
    return this.points.values[this.pointCol.data[row]!]!;
  }
  /** The row's eligible actions (shared between rows with the same list: do not change it). */
  actionsAt(row: number): readonly string[] {
    return this.actionLists[this.actionSetCol.data[row]!]!;
  }
  /** Id of the row's action list (rows with equal lists share it). */
  actionSetAt(row: number): number {
    return this.actionSetCol.data[row]!;
  }
  /** Index of the served action in the row's action list. */
  actionIndexAt(row: number): number {
    return this.actionCol.data[row]!;
  }
  /** Logged propensity of the served action, NaN when the log gave none. */
  propensityAt(row: number): number {
    return this.propensityCol.data[row]!;
  }
  /** Logger's probability of action `k` of the row's list (NaN: not in `probs`), or undefined without `probs`. */
  probAt(row: number, k: number): number | undefined {
    const at = this.probsAtCol.data[row]!;
    return at < 0 ? undefined : this.probsPool.data[at + k]!;
  }
  hasProbs(row: number): boolean {
    return this.probsAtCol.data[row]! >= 0;
  }
  /** Index of the baseline in the row's action list, or -1. */
  baselineAt(row: number): number {
    return this.baselineCol.data[row]!;
  }
  contextAt(row: number): Context {
    return this.contextList[row]!;
  }

  /** The row as a decision event (fields in the schema's order, as a parsed event has them). */
  eventAt(row: number): DecisionEvent {
    const actions = this.actionsAt(row);
    const e: DecisionEvent = {
      v: 1,
      id: this.idList[row]!,
      ts: this.tsList[row]!,
      point: this.pointAt(row),
      context: this.owned ? this.contextList[row]! : { ...this.contextList[row]! },
      actions: this.owned ? (actions as string[]) : [...actions],
      action: actions[this.actionCol.data[row]!]!,
    };
    const p = this.propensityCol.data[row]!;
    if (!Number.isNaN(p)) e.propensity = p;
    const po = this.probsObject.get(row);
    if (po !== undefined) e.probs = this.owned ? po : { ...po };
    else if (this.probsAtCol.data[row]! >= 0) {
      const at = this.probsAtCol.data[row]!;
      const probs: Record<string, number> = {};
      for (let k = 0; k < actions.length; k++) {
        const v = this.probsPool.data[at + k]!;
        if (!Number.isNaN(v)) probs[actions[k]!] = v;
      }
      e.probs = probs;
    }
    const pol = this.policyCol.data[row]!;
    if (pol >= 0) e.policy = this.policies.values[pol]!;
    const b = this.baselineCol.data[row]!;
    if (b >= 0) e.baseline = actions[b]!;
    const r = this.rewardCol.data[row]!;
    if (!Number.isNaN(r)) e.reward = r;
    const o = this.outcomeList[row];
    if (o !== undefined) e.outcome = this.owned ? o : { ...o };
    return e;
  }

  /** The explicit reward a row carries (NaN when none). */
  rewardAt(row: number): number {
    return this.rewardCol.data[row]!;
  }
  /** The outcome signals a row carries, if any. */
  outcomeAt(row: number): OutcomeSignals | undefined {
    return this.outcomeList[row];
  }

  /** Id of an action list (rows with equal lists share one stored copy). */
  private actionSetOf(actions: readonly string[]): number {
    const last = this.lastSet;
    if (last >= 0 && sameList(this.actionLists[last]!, actions)) return last;
    const set = this.actionSets.id(actions.join(ACTIONS_SEPARATOR));
    if (set === this.actionLists.length) this.actionLists.push([...actions]);
    this.lastSet = set;
    return set;
  }

  private pointIdOf(point: string): number {
    this.lastPoint = point;
    this.lastPointId = this.points.id(point);
    return this.lastPointId;
  }

  /**
   * Short string values of a context (categories: a segment, a region, a language) point to one
   * shared copy each instead of one copy per event: a parser makes a new string every time, and a
   * million events hold a few distinct values. The context is the table's own, so it is changed in place.
   */
  private shareStrings(ctx: Context): Context {
    const c = ctx as Record<string, unknown>;
    for (const key in c) {
      const v = c[key];
      if (typeof v !== 'string' || v.length > SHARED_STRING_MAX) continue;
      const have = this.sharedStrings.get(v);
      if (have !== undefined) c[key] = have;
      else if (this.sharedStrings.size < SHARED_STRINGS_LIMIT) this.sharedStrings.set(v, v);
    }
    return ctx;
  }

  /** Append a new row for `e` (whose id must not be stored yet). */
  append(e: DecisionEvent): void {
    const row = this.size;
    this.idList.push(e.id);
    this.tsList.push(e.ts);
    this.tsMsCol.push(isoEpochMs(e.ts));
    this.pointCol.push(e.point === this.lastPoint ? this.lastPointId : this.pointIdOf(e.point));
    const set = this.actionSetOf(e.actions);
    this.actionSetCol.push(set);
    this.actionCol.push(this.actionLists[set]!.indexOf(e.action));
    this.propensityCol.push(NaN);
    this.probsAtCol.push(-1);
    this.baselineCol.push(-1);
    this.policyCol.push(-1);
    this.rewardCol.push(NaN);
    this.outcomeList.push(undefined);
    this.contextList.push(this.shareStrings(this.owned ? e.context : { ...e.context }));
    this.index.set(e.id, row);
    this.setOptional(row, e);
  }

  /** Replace the fields a duplicate may fill (context, outcome, propensity, probs, policy, baseline, reward). */
  overwrite(row: number, e: DecisionEvent): void {
    this.contextList[row] = this.shareStrings(this.owned ? e.context : { ...e.context });
    this.propensityCol.data[row] = NaN;
    this.probsAtCol.data[row] = -1;
    this.probsObject.delete(row);
    this.baselineCol.data[row] = -1;
    this.policyCol.data[row] = -1;
    this.rewardCol.data[row] = NaN;
    this.outcomeList[row] = undefined;
    this.setOptional(row, e);
  }

  private setOptional(row: number, e: DecisionEvent): void {
    const actions = this.actionsAt(row);
    if (e.propensity !== undefined) this.propensityCol.data[row] = e.propensity;
    if (e.probs !== undefined) {
      const at = this.probsPool.reserve(actions.length);
      let k = 0;
      let ordered = true;
      for (const key in e.probs) {
        while (k < actions.length && actions[k] !== key) k++;
        if (k === actions.length) ordered = false;
      }
      for (let i = 0; i < actions.length; i++) this.probsPool.data[at + i] = e.probs[actions[i]!] ?? NaN;
      this.probsAtCol.data[row] = at;
      if (!ordered || Object.keys(e.probs).some((key) => !actions.includes(key))) this.probsObject.set(row, this.owned ? e.probs : { ...e.probs });
    }
    if (e.baseline !== undefined) this.baselineCol.data[row] = actions.indexOf(e.baseline);
    if (e.policy !== undefined) this.policyCol.data[row] = this.policies.id(e.policy);
    if (e.reward !== undefined) this.rewardCol.data[row] = e.reward;
    if (e.outcome !== undefined) this.outcomeList[row] = this.owned ? e.outcome : { ...e.outcome };
  }

  /** Drop the rows from `rows` on (a rolled-back batch). */
  truncate(rows: number, probs: number): void {
    for (let row = this.size - 1; row >= rows; row--) {
      this.index.delete(this.idList[row]!);
      this.probsObject.delete(row);
    }
    this.idList.length = this.tsList.length = this.outcomeList.length = this.contextList.length = rows;
    for (const c of [this.tsMsCol, this.pointCol, this.actionSetCol, this.actionCol, this.propensityCol, this.probsAtCol, this.baselineCol, this.policyCol, this.rewardCol]) c.length = rows;
    this.probsPool.length = probs;
  }

  /** Values in the probability pool (to roll back to). */
  get probsUsed(): number {
    return this.probsPool.length;
  }
}
