/**
 * The TypeScript client of Umbra's decision API (`umbra/client`). A caller asks Umbra which action
 * to serve but must never wait for it or fail because of it: `decide` has a hard timeout and
 * resolves to the caller's own `baselineAction` on any problem (timeout, network error, non-2xx
 * status, a body that breaks the contract); `outcome` reports and never throws either.
 */
import { BASELINE_POLICY_VERSION, DecideResponseSchema, ServedBy, type DecideRequest, type DecideResponse, type OutcomeRequest } from '../core/api.js';

export type { DecideRequest, DecideResponse, OutcomeRequest } from '../core/api.js';

/** A `fetch`-compatible function (the global one by default; tests and callers may inject theirs). */
export type FetchLike = (input: string, init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal }) => Promise<{
  ok: boolean;
  status: number;
  text(): Promise<string>;
}>;

/** Options of `createDecisionClient`. */
export interface DecisionClientOptions {
  /** Base URL of the decision service, e.g. `http://127.0.0.1:8080`. */
  baseUrl: string;
  /** Hard timeout of `decide` in milliseconds, body included. @default 50 */
  timeoutMs?: number;
  /** Timeout of `outcome` in milliseconds (outcomes are not on the user's critical path). @default 1000 */
  outcomeTimeoutMs?: number;
  /** The fetch implementation. @default globalThis.fetch */
  fetch?: FetchLike;
}

/** Why a decision fell back to the baseline. */
export const FallbackReason = {
  TIMEOUT: 'timeout',
  NETWORK: 'network',
  INVALID_BODY: 'invalid_body',
  INVALID_ACTION: 'invalid_action',
} as const;

/** What `outcome` reports (it never throws). */
export interface OutcomeResult {
  ok: boolean;
  /** HTTP status, when the server answered. */
  status?: number;
  /** Why it failed, when it did. */
  reason?: string;
}

/** Counters of a client since it was created. */
export interface ClientStats {
  decides: number;
  fallbacks: number;
  /** Fallbacks by reason (`timeout`, `network`, `http_503`, `invalid_body`, ...). */
  reasons: Record<string, number>;
  outcomes: number;
  outcomeFailures: number;
}

/** A decision client. Neither method ever rejects. */
export interface DecisionClient {
  /** Load the HTTP client and open a connection before the first decision (never rejects). */
  warmUp(): Promise<void>;
  decide(req: DecideRequest): Promise<DecideResponse>;
  outcome(req: OutcomeRequest): Promise<OutcomeResult>;
  stats(): ClientStats;
}

/** The answer a caller gets when Umbra cannot answer in time: its own baseline. */
export function baselineResponse(req: DecideRequest, reason: string): DecideResponse {
  return {
    id: req.id ?? '',
    action: req.baselineAction,
    propensity: 1,
    servedBy: ServedBy.FALLBACK,
    stage: 'unknown',
    policyVersion: BASELINE_POLICY_VERSION,
    reason,
  };
}

/** Create a client for the decision API at `baseUrl`. */
export function createDecisionClient(o: DecisionClientOptions): DecisionClient {
  const base = o.baseUrl.replace(/\/+$/, '');
  const timeoutMs = o.timeoutMs ?? 50;
  const outcomeTimeoutMs = o.outcomeTimeoutMs ?? 1000;
  const doFetch: FetchLike = o.fetch ?? (globalThis.fetch as unknown as FetchLike);
  const stats: ClientStats = { decides: 0, fallbacks: 0, reasons: {}, outcomes: 0, outcomeFailures: 0 };

  /** POST JSON with a hard deadline covering the whole exchange, body included. */
  async function post(path: string, body: unknown, ms: number): Promise<{ status: number; ok: boolean; text: string } | { error: string }> {
    const ctl = new AbortController();
    let timedOut = false;
    // When the timer fires, let the poll phase of this loop turn read what already arrived: an answer
    // that came in time is not late because this process was busy (or descheduled) when it landed.
    const timer = setTimeout(() => {
      setImmediate(() => {
        timedOut = true;
        ctl.abort();
      });
    }, ms);
    try {
      const exchange = (async () => {
        const res = await doFetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: ctl.signal });
        const text = await res.text();
        return { status: res.status, ok: res.ok, text };
      })().catch((): { error: string } => ({ error: timedOut ? FallbackReason.TIMEOUT : FallbackReason.NETWORK }));
      // The deadline wins even if an injected fetch ignores the abort signal.
      const deadline = new Promise<{ error: string }>((resolve) => {
        ctl.signal.addEventListener('abort', () => resolve({ error: FallbackReason.TIMEOUT }), { once: true });
      });
      return await Promise.race([exchange, deadline]);
    } catch {
      return { error: timedOut ? FallbackReason.TIMEOUT : FallbackReason.NETWORK };
    } finally {
      clearTimeout(timer);
    }
  }

  function fallback(req: DecideRequest, reason: string): DecideResponse {
    stats.fallbacks++;
    stats.reasons[reason] = (stats.reasons[reason] ?? 0) + 1;
    return baselineResponse(req, reason);
  }

  return {
    async warmUp() {
      // The first fetch of a process loads the HTTP client and opens the connection: tens of
      // milliseconds that should not count against the first decision's deadline.
      if (o.fetch !== undefined) return; // an injected fetch has nothing to warm up
      await globalThis
        .fetch(`${base}/openapi.json`, { signal: AbortSignal.timeout(Math.max(1000, outcomeTimeoutMs)) })
        .then((r) => r.text())
        .catch(() => undefined);
    },
    async decide(req) {
      stats.decides++;
      try {
        const r = await post('/v1/decide', req, timeoutMs);
        if ('error' in r) return fallback(req, r.error);
        if (!r.ok) return fallback(req, `http_${r.status}`);
        let json: unknown;
        try {
          json = JSON.parse(r.text);
        } catch {
          return fallback(req, FallbackReason.INVALID_BODY);
        }
        const parsed = DecideResponseSchema.safeParse(json);
        if (!parsed.success) return fallback(req, FallbackReason.INVALID_BODY);
        if (!req.actions.includes(parsed.data.action)) return fallback(req, FallbackReason.INVALID_ACTION);
        return parsed.data;
      } catch {
        return fallback(req, FallbackReason.NETWORK);
      }
    },
    async outcome(req) {
      stats.outcomes++;
      try {
        const r = await post('/v1/outcome', req, outcomeTimeoutMs);
        if ('error' in r) {
          stats.outcomeFailures++;
          return { ok: false, reason: r.error };
        }
        if (!r.ok) {
          stats.outcomeFailures++;
          return { ok: false, status: r.status, reason: `http_${r.status}` };
        }
        return { ok: true, status: r.status };
      } catch {
        stats.outcomeFailures++;
        return { ok: false, reason: FallbackReason.NETWORK };
      }
    },
    stats() {
      return { ...stats, reasons: { ...stats.reasons } };
    },
  };
}
