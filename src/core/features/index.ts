/**
 * The one feature map, shared by training and serving. The original system hashed features one way
 * when training and another when serving and let the action and its outcome leak into the inputs;
 * here one walk over a decision context (and nothing else) names its features, and two forms read
 * that walk: a dense Float64Array of dimension d (LinUCB, the OPE reward model) and a sparse vector
 * in a 2^bits hashed space (the sparse learner; see sparse.ts). The definition is hashed so that a
 * model can refuse a context encoded differently.
 *
 * Dense form:
 * Layout of the d dimensions:
 * - slot 0: bias (always 1);
 * - slots 1 … m: dedicated numeric slots, one per numeric key seen at fit time (cyclic keys take two:
 *   sin and cos); m is at most `numeric_share · (d − 1)`, later numeric keys are hashed instead;
 * - slots m+1 … d−1: signed hashing trick (murmur3 with the configured seed) of categories
 *   `key=value` (strings and booleans), of quantile bins of configured numeric keys, of text tokens
 *   (`<key>_tokens`, words and character trigrams, weighted 1/√n per text; the grams are left to
 *   the sparse form) and of configured interactions.
 * Sparse form: the same names hashed (murmur3) into 2^bits indices, numerics under `#key`, cyclic
 * keys under `key@sin` / `key@cos`, a bias, and each text as one bag of its tokens and grams.
 * Numerics are standardised with mean and standard deviation frozen at fit time; null, NaN and
 * absent values are missing (they contribute nothing, i.e. the mean); numeric keys not seen at fit
 * time are ignored.
 */
import { z } from 'zod';
import type { Context, ContextValue } from '../events.js';
import { contentHash, fmix32, murmur3 } from '../hash.js';
import { TEXT_VERSION, expandText } from '../text.js';
import { FeaturesConfigSchema, type FeaturesConfig } from '../config/features.js';
import { BIAS_NAME, NameHashes, binName, binOf, categoryName, eachToken, quantileEdges } from './names.js';
import { SparseRowsBuilder, type SparseRows } from './rows.js';
import { SparseCollector, SparseVector } from './sparse.js';

export { rowsOfDense, SparseRowsBuilder, type SparseRows } from './rows.js';
export { SparseVector } from './sparse.js';

/** Version of the feature-map algorithm; part of the definition hash (v2: the sparse form). */
export const FEATURES_VERSION = 'features/v2';

/** The definition of a feature map: the effective `features` config section. */
export const FeatureDefinitionSchema = FeaturesConfigSchema;
export type FeatureDefinition = FeaturesConfig;

/** Frozen statistics of one numeric key. */
export const NumericStatSchema = z
  .object({
    key: z.string(),
    mean: z.number(),
    std: z.number().positive(),
    /** Observations the statistics were computed from. */
    n: z.number().int().min(0),
  })
  .strict();
export type NumericStat = z.infer<typeof NumericStatSchema>;

/** Everything fitted from training contexts (frozen in the artifact). */
export const FeatureStatsSchema = z
  .object({
    /** Numeric keys in slot order (sorted by key). */
    numeric: z.array(NumericStatSchema),
    /** Cyclic keys seen at fit time, in slot order (sorted by key). */
    cyclic: z.array(z.string()),
    /** Quantile bin edges of binned keys (a value v falls in bin #edges ≤ v). */
    bins: z.array(z.object({ key: z.string(), edges: z.array(z.number()) }).strict()).default([]),
    /** Contexts the statistics were fitted on. */
    n: z.number().int().min(0),
  })
  .strict();
export type FeatureStats = z.infer<typeof FeatureStatsSchema>;

/** Hash of a feature-map definition (with the text and algorithm versions and the hash function). */
export function featureHash(def: FeatureDefinition): string {
  return contentHash({ v: FEATURES_VERSION, text: TEXT_VERSION, hash: 'murmur3_x86_32', def: normaliseDefinition(def) });
}

/** The effective definition from a (possibly partial) `features` section. */
export function featureDefinition(cfg: Partial<FeaturesConfig> = {}): FeatureDefinition {
  return FeaturesConfigSchema.parse(cfg);
}

function normaliseDefinition(def: FeatureDefinition): FeatureDefinition {
  // Lists that act as sets are hashed sorted so that reordering them does not change the hash.
  return {
    ...def,
    text_keys: [...def.text_keys].sort(),
    exclude_keys: [...new Set(def.exclude_keys)].sort(),
    log1p_keys: [...new Set(def.log1p_keys)].sort(),
  };
}

/** Keys whose values the feature map derives from text (tokens and grams are handled apart from categories). */
function tokenKeysOf(textKeys: readonly string[]): Set<string> {
  return new Set(textKeys.flatMap((k) => [`${k}_tokens`, `${k}_grams`]));
}

/** What one walk over a context reports, read by the dense or the sparse form. */
interface FeatureSink {
  /** A fitted numeric key (its index in the frozen statistics) with its standardised value. */
  numeric(i: number, key: string, z: number): void;
  /** A cyclic key with a slot, as the sine and cosine of its angle. */
  cyclic(key: string, slot: number, sin: number, cos: number): void;
  /** A hashed feature by the 32-bit hash of its name (category, bin, interaction; see `NameHashes`). */
  hashed(h: number, v: number): void;
  /** One text key's tokens and grams (either may be absent). */
  text(tokens: string | undefined, grams: string | undefined): void;
}

/**
 * A feature map: a definition plus statistics frozen at fit time. `featurize` is the only way a
 * context becomes a vector, for training and serving alike.
 */
export class FeatureMap {
  /** The definition (effective `features` config). */
  readonly definition: FeatureDefinition;
  /** Hash of the definition: artifacts carry it, loaders compare it. */
  readonly hash: string;
  /** Statistics frozen at fit time. */
  readonly stats: FeatureStats;
  /** Vector dimension d. */
  readonly dim: number;

  private readonly textKeys: readonly string[];
  private readonly tokenKeys: Set<string>;
  private readonly excluded: Set<string>;
  private readonly log1p: Set<string>;
  private readonly numericIndex = new Map<string, number>();
  private readonly numericSlot: Int32Array;
  private readonly numericMean: Float64Array;
  private readonly numericInvStd: Float64Array;
  private readonly cyclicSlot = new Map<string, number>();
  private readonly cyclicPeriod = new Map<string, number>();
  private readonly interactions: readonly (readonly [string, string])[];
  private readonly hashBase: number;
  private readonly hashSize: number;
  private readonly seed: number;
  private readonly tokenSeed: number;
  private readonly clip: number;
  private readonly names: NameHashes;
  private readonly binEdges = new Map<string, Float64Array>();
  /** For each `<key>_tokens` and `<key>_grams`: both names of its text key. */
  private readonly textPair = new Map<string, { tokens: string; grams: string }>();
  /** Size of the sparse space: 2^bits. */
  readonly bits: number;
  private readonly sparse: SparseCollector;
  private readonly sparseScratch = new SparseVector();
  private readonly biasIndex: number;
  private denseOut: Float64Array = new Float64Array(0);
  private tokenWeight = 0;
  private readonly addDenseToken = (h: number): void => this.addAt(this.denseOut, h, this.tokenWeight);
  private readonly denseSink: FeatureSink = {
    numeric: (i, key, z) => {
      const slot = this.numericSlot[i]!;
      if (slot > 0) this.denseOut[slot] = z;
      else if (this.hashSize > 0) this.addAt(this.denseOut, this.names.numeric(key), z);
    },
    cyclic: (_key, slot, sin, cos) => {
      this.denseOut[slot] = sin;
      this.denseOut[slot + 1] = cos;
    },
    hashed: (h, v) => {
      if (this.hashSize > 0) this.addAt(this.denseOut, h, v);
    },
    text: (tokens) => {
      if (tokens !== undefined) this.addTokens(this.denseOut, tokens);
    },
  };
  private readonly sparseSink: FeatureSink = {
    numeric: (_i, key, z) => this.sparse.hashed(this.names.numeric(key), z),
    cyclic: (key, _slot, sin, cos) => {
      this.sparse.hashed(this.names.cyclicSin(key), sin);
      this.sparse.hashed(this.names.cyclicCos(key), cos);
    },
    hashed: (h, v) => this.sparse.hashed(h, v),
    text: (tokens, grams) => this.sparse.text(tokens, grams),
  };

  constructor(definition: FeatureDefinition, stats?: FeatureStats) {
    this.definition = definition;
    this.hash = featureHash(definition);
    this.dim = definition.dim;
    this.stats = stats ?? { numeric: [], cyclic: [], bins: [], n: 0 };
    for (const b of this.stats.bins) if (definition.bins[b.key] !== undefined) this.binEdges.set(b.key, Float64Array.from(b.edges));
    this.textKeys = definition.text_keys;
    this.tokenKeys = tokenKeysOf(definition.text_keys);
    this.excluded = new Set(definition.exclude_keys);
    this.log1p = new Set(definition.log1p_keys);
    this.interactions = definition.interactions;
    this.seed = definition.seed >>> 0;
    this.names = new NameHashes(this.seed);
    this.tokenSeed = murmur3('tokens', this.seed);
    this.clip = definition.clip;
    for (const k of definition.text_keys) {
      const pair = { tokens: `${k}_tokens`, grams: `${k}_grams` };
      this.textPair.set(pair.tokens, pair);
      this.textPair.set(pair.grams, pair);
    }
    this.bits = definition.bits;
    this.sparse = new SparseCollector(this.bits, this.seed, this.tokenSeed);
    this.biasIndex = this.sparse.indexOf(BIAS_NAME);
    for (const [k, p] of Object.entries(definition.cyclic)) this.cyclicPeriod.set(k, p);
    const budget = Math.floor(definition.numeric_share * (this.dim - 1));
    let slot = 1;
    for (const key of this.stats.cyclic) {
      if (slot + 2 > 1 + budget) break; // cyclic keys beyond the budget are dropped (documented)
      this.cyclicSlot.set(key, slot);
      slot += 2;
    }
    const k = this.stats.numeric.length;
    this.numericSlot = new Int32Array(k);
    this.numericMean = new Float64Array(k);
    this.numericInvStd = new Float64Array(k);
    this.stats.numeric.forEach((s, i) => {
      this.numericIndex.set(s.key, i);
      this.numericMean[i] = s.mean;
      this.numericInvStd[i] = 1 / s.std;
      // Numeric keys beyond the budget keep their frozen statistics but share the hashed slots (0 = hashed).
      if (slot < 1 + budget) this.numericSlot[i] = slot++;
    });
    this.hashBase = slot;
    this.hashSize = this.dim - slot;
  }

  /**
   * Fit the statistics (numeric means and standard deviations, numeric and cyclic keys) on training
   * contexts and return the frozen map. Contexts may carry raw or expanded text.
   */
  static fit(definition: FeatureDefinition, contexts: Iterable<Context>): FeatureMap {
    const acc = new Map<string, { n: number; mean: number; m2: number }>();
    const cyc = new Set<string>();
    const excluded = new Set(definition.exclude_keys);
    const tokenKeys = tokenKeysOf(definition.text_keys);
    const log1p = new Set(definition.log1p_keys);
    const binValues = new Map<string, number[]>();
    let n = 0;
    for (const raw of contexts) {
      n++;
      const ctx = expandText(raw, definition.text_keys);
      for (const key in ctx) {
        const v = ctx[key];
        if (typeof v !== 'number' || !Number.isFinite(v) || excluded.has(key) || tokenKeys.has(key)) continue;
        if (definition.bins[key] !== undefined) {
          let list = binValues.get(key);
          if (list === undefined) {
            list = [];
            binValues.set(key, list);
          }
          list.push(v);
        }
        if (definition.cyclic[key] !== undefined) {
          cyc.add(key);
          continue;
        }
        const x = log1p.has(key) ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
        let a = acc.get(key);
        if (a === undefined) {
          a = { n: 0, mean: 0, m2: 0 };
          acc.set(key, a);
        }
        a.n++;
        const delta = x - a.mean;
        a.mean += delta / a.n;
        a.m2 += delta * (x - a.mean);
      }
    }
    const numeric: NumericStat[] = [...acc.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, a]) => {
        const sd = a.n > 1 ? Math.sqrt(a.m2 / (a.n - 1)) : 0;
        return { key, mean: a.mean, std: sd > 1e-12 ? sd : 1, n: a.n };
      });
    const bins = [...binValues.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, values]) => ({ key, edges: quantileEdges(values, definition.bins[key]!) }));
    return new FeatureMap(definition, { numeric, cyclic: [...cyc].sort(), bins, n });
  }

  /** A fresh zeroed vector of dimension d. */
  vector(): Float64Array {
    return new Float64Array(this.dim);
  }

  /**
   * The dense feature vector of a context, written into `out` (allocated when not given). Only the
   * context is read: the action and anything measured after the decision cannot reach it.
   */
  featurize(context: Context, out: Float64Array = new Float64Array(this.dim)): Float64Array {
    if (out.length !== this.dim) throw new RangeError(`feature buffer has length ${out.length}, not the dimension ${this.dim}`);
    out.fill(0);
    out[0] = 1;
    this.denseOut = out;
    this.walk(context, this.denseSink);
    return out;
  }

  /**
   * The sparse feature vector of a context in the 2^bits space, written into `out` (a reused scratch
   * when not given: copy what must outlive the next call). Same walk, same names as `featurize`.
   */
  featurizeSparse(context: Context, out: SparseVector = this.sparseScratch): SparseVector {
    const c = this.sparse;
    c.begin();
    c.add(this.biasIndex, 1);
    this.walk(context, this.sparseSink);
    return c.finish(out);
  }

  /** The sparse vectors of many contexts as rows over dimension 2^bits. */
  featurizeSparseRows(contexts: Iterable<Context>, rowsHint = 1024): SparseRows {
    const b = new SparseRowsBuilder(2 ** this.bits, rowsHint, rowsHint * 64);
    const v = new SparseVector();
    for (const ctx of contexts) {
      this.featurizeSparse(ctx, v);
      for (let t = 0; t < v.n; t++) b.entry(v.idx[t]!, v.val[t]!);
      b.endRow();
    }
    return b.build();
  }

  /**
   * The feature vectors of many contexts as sparse rows: each row holds exactly the nonzeros of
   * `featurize(context)`, in index order.
   */
  featurizeRows(contexts: Iterable<Context>, rowsHint = 1024): SparseRows {
    const b = new SparseRowsBuilder(this.dim, rowsHint);
    const x = new Float64Array(this.dim);
    for (const c of contexts) b.pushDense(this.featurize(c, x));
    return b.build();
  }

  /** The one walk over a context: every feature it has, by kind, to `sink`. */
  private walk(context: Context, sink: FeatureSink): void {
    const ctx = expandText(context, this.textKeys);
    for (const key in ctx) {
      const v = ctx[key];
      if (v === null || v === undefined || this.excluded.has(key)) continue;
      if (typeof v === 'number') {
        if (!Number.isFinite(v)) continue;
        const cs = this.cyclicSlot.get(key);
        if (cs !== undefined) {
          const angle = (2 * Math.PI * v) / this.cyclicPeriod.get(key)!;
          sink.cyclic(key, cs, Math.sin(angle), Math.cos(angle));
          continue;
        }
        const edges = this.binEdges.get(key);
        if (edges !== undefined) sink.hashed(this.names.bin(key, binOf(edges, v)), 1);
        const i = this.numericIndex.get(key);
        if (i !== undefined) sink.numeric(i, key, this.standardiseAt(i, key, v));
        continue;
      }
      if (typeof v === 'string' && this.tokenKeys.has(key)) {
        const pair = this.textPair.get(key)!;
        if (pair.tokens === key) {
          const g = ctx[pair.grams];
          sink.text(v, typeof g === 'string' ? g : undefined);
        } else if (typeof ctx[pair.tokens] !== 'string') {
          sink.text(undefined, v);
        }
        continue;
      }
      sink.hashed(this.names.category(key, v), 1);
    }
    for (const [a, b] of this.interactions) this.addInteraction(sink, ctx, a, b);
  }

  /** The standardised (and clipped) value of a numeric key, or undefined when the key was not fitted. */
  private standardise(key: string, v: number): number | undefined {
    const i = this.numericIndex.get(key);
    return i === undefined || !Number.isFinite(v) ? undefined : this.standardiseAt(i, key, v);
  }

  private standardiseAt(i: number, key: string, v: number): number {
    const x = this.log1p.has(key) ? Math.sign(v) * Math.log1p(Math.abs(v)) : v;
    const z = (x - this.numericMean[i]!) * this.numericInvStd[i]!;
    return z > this.clip ? this.clip : z < -this.clip ? -this.clip : z;
  }

  /** Add ±value at the hashed slot of `h` (its low bit is the sign). */
  private addAt(out: Float64Array, h: number, value: number): void {
    const slot = this.hashBase + ((h >>> 1) % this.hashSize);
    out[slot] = out[slot]! + ((h & 1) === 1 ? -value : value);
  }

  /** Dense form of a text: its tokens (not its grams), each weighted 1/√(number of tokens). */
  private addTokens(out: Float64Array, tokens: string): void {
    if (this.hashSize <= 0 || tokens.length === 0) return;
    let count = 1;
    for (let i = 0; i < tokens.length; i++) if (tokens.charCodeAt(i) === 32) count++;
    this.tokenWeight = 1 / Math.sqrt(count);
    eachToken(tokens, this.tokenSeed, fmix32, this.addDenseToken);
  }

  private addInteraction(sink: FeatureSink, ctx: Context, a: string, b: string): void {
    const va = ctx[a];
    const vb = ctx[b];
    if (va === null || va === undefined || vb === null || vb === undefined) return;
    if (this.tokenKeys.has(a) || this.tokenKeys.has(b) || this.excluded.has(a) || this.excluded.has(b)) return;
    // Each side is a label (category, boolean or bin of a binned numeric) or a standardised numeric.
    const la = this.labelOf(a, va);
    const lb = this.labelOf(b, vb);
    const za = la === undefined && typeof va === 'number' ? this.standardise(a, va) : undefined;
    const zb = lb === undefined && typeof vb === 'number' ? this.standardise(b, vb) : undefined;
    if (la === undefined && za === undefined) return;
    if (lb === undefined && zb === undefined) return;
    if (la !== undefined && lb !== undefined) sink.hashed(this.names.of(`${la}&${lb}`), 1);
    else if (za !== undefined && zb !== undefined) sink.hashed(this.names.of(`${a}*${b}`), za * zb);
    else if (za !== undefined) sink.hashed(this.names.of(`${a}*${lb!}`), za);
    else sink.hashed(this.names.of(`${b}*${la!}`), zb!);
  }

  /** The categorical label of a value, or undefined for a plain (unbinned) numeric. */
  private labelOf(key: string, v: Exclude<ContextValue, null>): string | undefined {
    if (typeof v !== 'number') return categoryName(key, v);
    const edges = this.binEdges.get(key);
    return edges !== undefined && Number.isFinite(v) ? binName(key, edges, v) : undefined;
  }

  /** The artifact form: definition, its hash and the frozen statistics. */
  toJSON(): { definition: FeatureDefinition; hash: string; stats: FeatureStats } {
    return { definition: this.definition, hash: this.hash, stats: this.stats };
  }
}
