/**
 * Turning lines into store inputs: parse, map, quarantine, count. Kept apart from the reading and
 * writing loop so that files, JSON arrays and any other line source go through the same code.
 * Total: no line can make it throw.
 */
import type { TelemetryConfig } from '../core/config/telemetry.js';
import { compileMapOptions, mapRecord, type MapOptions } from '../core/telemetry/map.js';
import type { OutcomeUpdate, TurnFact } from '../core/telemetry/types.js';
import type { DecisionEvent } from '../core/events.js';
import type { QuarantineEntry, RecordInsert } from '../store/port.js';
import { classifyUnparsable, excerptOf, isBlank } from './lines.js';

/** What a run of lines gives: store inputs and counts. */
export interface Processed {
  records: RecordInsert[];
  outcomes: OutcomeUpdate[];
  quarantine: QuarantineEntry[];
  /** Items handled (lines, bad lines, blank lines). */
  items: number;
  /** Non-blank lines. */
  linesRead: number;
  /** Quarantined per reason. */
  quarantined: Record<string, number>;
  warnings: Record<string, number>;
}

/** An empty result. */
export function emptyProcessed(): Processed {
  return { records: [], outcomes: [], quarantine: [], items: 0, linesRead: 0, quarantined: {}, warnings: {} };
}

/** One line for a processor: its text (and parsed value when the reader already has it), or a byte-level verdict. */
export type LineItem =
  | { o: number; t: string; v?: unknown }
  | { o: number; bad: string; s: string; n: number };

/** Parses, maps and quarantines lines. */
export class LineProcessor {
  private readonly cfg: TelemetryConfig;
  private readonly mopts: MapOptions;

  constructor(cfg: TelemetryConfig) {
    this.cfg = cfg;
    this.mopts = compileMapOptions(cfg);
  }

  /** Handle one item of `source` into `out`. */
  item(out: Processed, source: string, it: LineItem): void {
    out.items++;
    if ('bad' in it) {
      out.linesRead++;
      this.quarantine(out, source, it.o, it.bad, it.s, `${it.bad.replace(/_/g, ' ')} (${it.n} bytes)`);
      return;
    }
    let value = it.v;
    if (value === undefined) {
      try {
        value = JSON.parse(it.t) as unknown;
      } catch (e) {
        if (isBlank(it.t)) return;
        out.linesRead++;
        this.quarantine(out, source, it.o, classifyUnparsable(it.t), it.t, e instanceof Error ? e.message : 'not JSON');
        return;
      }
    }
    out.linesRead++;
    this.value(out, source, it.o, value, it.t);
  }

  /** Map one parsed record (a line, or an element of a JSON array) into `out`. */
  value(out: Processed, source: string, offset: number, value: unknown, text: string): void {
    let turn: TurnFact | undefined;
    let decisions: DecisionEvent[] | undefined;
    for (const m of mapRecord(value, this.mopts)) {
      switch (m.kind) {
        case 'turn':
          turn = m.fact;
          break;
        case 'decision':
          (decisions ??= []).push(m.event);
          break;
        case 'outcome':
          out.outcomes.push(m.update);
          break;
        case 'quarantine':
          this.quarantine(out, source, offset, m.reason, text, m.detail);
          break;
        case 'warning':
          out.warnings[m.code] = (out.warnings[m.code] ?? 0) + 1;
          break;
      }
    }
    if (turn !== undefined) out.records.push({ turn, decisions: decisions ?? [] });
    else if (decisions !== undefined) out.records.push({ decisions });
  }

  private quarantine(out: Processed, source: string, offset: number, reason: string, text: string, detail: string): void {
    out.quarantine.push({ source, offset, reason, excerpt: excerptOf(text, this.cfg.excerpt_chars, this.cfg.store_text, this.cfg.free_text_chars), detail });
    out.quarantined[reason] = (out.quarantined[reason] ?? 0) + 1;
  }
}
