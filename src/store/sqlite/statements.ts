/**
 * The SQLite store's prepared statements, prepared once per connection and shared by its writes
 * and reads.
 */
import type { DB, Stmt } from './rows.js';

/** The statements of one connection, by name. */
export type Statements = Record<string, Stmt>;

/** Prepare every statement of the store on `db`. */
export function prepareStatements(db: DB): Statements {
  const p = (sql: string): Stmt => db.prepare(sql);
  return {
    insDecision: p('INSERT INTO decisions(key, id, point, ts, ts_ms, action, body, sdepth, tflag, tsession, textra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING'),
    decisionByKey: p('SELECT seq, id, point, ts, action, body, sdepth, tflag, tsession, textra FROM decisions WHERE key = ?'),
    setTurnOf: p('UPDATE decisions SET tflag = 1, tsession = ?, sdepth = ?, textra = ? WHERE seq = ?'),
    setTextra: p('UPDATE decisions SET textra = ? WHERE seq = ?'),
    maxSeq: p('SELECT coalesce(max(seq), 0) AS m FROM decisions'),
    setSdepth: p('UPDATE decisions SET sdepth = ? WHERE seq = ?'),
    decisionIdByKey: p('SELECT seq, id FROM decisions WHERE key = ?'),
    updDecisionBody: p('UPDATE decisions SET body = ? WHERE seq = ?'),
    insTurnFree: p('INSERT INTO turns(pos, key, id, ts, ts_ms, route, intent, session, session_depth, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING'),
    freeTurnByKey: p('SELECT * FROM turns WHERE key = ?'),
    freeKeysAfter: p('SELECT seq, key FROM turns WHERE seq > ? ORDER BY seq'),
    updTurn: p('UPDATE turns SET route = ?, intent = ?, outcome = ? WHERE seq = ?'),
    putSession: p('INSERT INTO sessions(session, turns) VALUES (?, ?) ON CONFLICT(session) DO UPDATE SET turns = excluded.turns'),
    sessionTurns: p('SELECT turns FROM sessions WHERE session = ?'),
    // pending > 0: updates waiting for their decision; < 0: only companion updates waiting (not reported).
    anyPending: p('SELECT 1 AS x FROM outcomes WHERE pending <> 0 LIMIT 1'),
    outcomeById: p('SELECT id, ts, reward, outcome, updates, pending FROM outcomes WHERE id = ?'),
    pendingById: p('SELECT pending FROM outcomes WHERE id = ? AND pending <> 0'),
    clearPending: p('UPDATE outcomes SET pending = 0 WHERE id = ?'),
    upsertOutcome: p(
      'INSERT INTO outcomes(id, ts, reward, outcome, updates, pending) VALUES (@id, @ts, @reward, @outcome, @updates, @pending) ' +
        'ON CONFLICT(id) DO UPDATE SET ts = excluded.ts, reward = excluded.reward, outcome = excluded.outcome, updates = excluded.updates, pending = excluded.pending',
    ),
    insQuarantine: p('INSERT INTO quarantine(source, byte_offset, reason, excerpt, detail, at) VALUES (?, ?, ?, ?, ?, ?)'),
    upsertCheckpoint: p(
      'INSERT INTO checkpoints(source, dev, ino, byte_offset, size, fp, fp_len, skip_from, updated_at) VALUES (@source, @dev, @ino, @offset, @size, @fp, @fpLen, @skipFrom, @updatedAt) ' +
        'ON CONFLICT(source) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, byte_offset = excluded.byte_offset, size = excluded.size, fp = excluded.fp, fp_len = excluded.fp_len, skip_from = excluded.skip_from, updated_at = excluded.updated_at',
    ),
    checkpoint: p('SELECT * FROM checkpoints WHERE source = ?'),
    checkpoints: p('SELECT * FROM checkpoints ORDER BY source'),
    quarantineCounts: p('SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY reason'),
    getState: p('SELECT value, version, updated_at FROM state WHERE key = ?'),
    insState: p('INSERT INTO state(key, value, version, updated_at) VALUES (?, ?, 1, ?) ON CONFLICT(key) DO NOTHING'),
    updState: p('UPDATE state SET value = ?, version = version + 1, updated_at = ? WHERE key = ? AND version = ?'),
    setState: p('INSERT INTO state(key, value, version, updated_at) VALUES (?, ?, 1, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = state.version + 1, updated_at = excluded.updated_at RETURNING version'),
    insShadow: p('INSERT INTO shadow(id, candidate, ts, body) VALUES (?, ?, ?, ?)'),
    lastAudit: p('SELECT seq, ts, body FROM audit ORDER BY seq DESC LIMIT 1'),
    insAudit: p('INSERT INTO audit(seq, ts, body) VALUES (?, ?, ?)'),
  };
}
