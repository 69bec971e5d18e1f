/**
 * Versioned schema migrations of the SQLite store. Each migration runs once, in its own
 * transaction, and is recorded in `schema_migrations`. To add tables, append a migration with the
 * next version: never edit one that has shipped (databases in the field already ran it).
 */

/** One migration step. */
export interface Migration {
  /** 1, 2, 3, ... without gaps. */
  version: number;
  /** Short name, recorded beside the version. */
  name: string;
  /** SQL run in one transaction. */
  up: string;
}

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'decision log, turns, outcomes, quarantine, checkpoints, sessions, state, shadow, audit',
    up: `
      CREATE TABLE decisions (
        seq     INTEGER PRIMARY KEY,
        key     INTEGER NOT NULL,         -- idKey(id), probed on collision (see src/store/key.ts)
        id      TEXT    NOT NULL,
        point   TEXT    NOT NULL,
        ts      TEXT    NOT NULL,
        ts_ms   INTEGER NOT NULL,
        action  TEXT    NOT NULL,
        body    TEXT    NOT NULL,         -- JSON: context, actions and the optional fields
        sdepth  INTEGER,                  -- the turn's depth in its session (overrides context.session_depth)
        -- A turn with a decision of its own (same id) is stored in that decision's row: one key
        -- deduplicates both. Its fields are derived from the decision (route = action, intent =
        -- context.intent, outcome = the decision's outcome) unless textra says otherwise.
        tflag   INTEGER NOT NULL DEFAULT 0,
        tsession TEXT,
        textra  TEXT                      -- JSON of the turn fields that differ from the derived ones
      );
      CREATE UNIQUE INDEX decisions_key ON decisions(key);
      CREATE INDEX decisions_point_seq ON decisions(point, seq);

      -- Turns without a decision of their own (fallback, error, ...): rare, with their own key.
      CREATE TABLE turns (
        seq           INTEGER PRIMARY KEY,
        pos           INTEGER NOT NULL,    -- decisions.seq at insertion (orders turns among routed ones)
        key           INTEGER NOT NULL,    -- idKey(id), probed on collision
        id            TEXT    NOT NULL,
        ts            TEXT    NOT NULL,
        ts_ms         INTEGER NOT NULL,
        route         TEXT,
        intent        TEXT,
        session       TEXT,
        session_depth INTEGER,
        outcome       TEXT    NOT NULL     -- JSON outcome signals
      );
      CREATE UNIQUE INDEX turns_key ON turns(key);

      CREATE TABLE sessions (
        session TEXT PRIMARY KEY,
        turns   INTEGER NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE outcomes (
        id      TEXT PRIMARY KEY,          -- the decision id (the decision may not exist yet)
        ts      TEXT,
        reward  REAL,
        outcome TEXT    NOT NULL,          -- JSON, merged field by field, later wins
        updates INTEGER NOT NULL,
        pending INTEGER NOT NULL           -- updates not yet matched to a decision
      ) WITHOUT ROWID;
      CREATE INDEX outcomes_pending ON outcomes(id) WHERE pending > 0;

      CREATE TABLE quarantine (
        seq     INTEGER PRIMARY KEY,
        source  TEXT    NOT NULL,
        byte_offset INTEGER NOT NULL,
        reason  TEXT    NOT NULL,
        excerpt TEXT    NOT NULL,
        detail  TEXT,
        at      TEXT    NOT NULL
      );
      CREATE INDEX quarantine_reason ON quarantine(reason);

      CREATE TABLE checkpoints (
        source     TEXT PRIMARY KEY,
        dev        TEXT    NOT NULL,
        ino        TEXT    NOT NULL,
        byte_offset INTEGER NOT NULL,
        size       INTEGER NOT NULL,
        fp         TEXT    NOT NULL,
        fp_len     INTEGER NOT NULL,
        skip_from  INTEGER,
        updated_at TEXT    NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE state (
        key        TEXT PRIMARY KEY,
        value      TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        updated_at TEXT    NOT NULL
      ) WITHOUT ROWID;

      CREATE TABLE shadow (
        seq       INTEGER PRIMARY KEY,
        id        TEXT NOT NULL,
        candidate TEXT NOT NULL,
        ts        TEXT NOT NULL,
        body      TEXT NOT NULL
      );
      CREATE INDEX shadow_candidate ON shadow(candidate, seq);
      CREATE INDEX shadow_id ON shadow(id);

      CREATE TABLE audit (
        seq  INTEGER PRIMARY KEY,
        ts   TEXT NOT NULL,
        body TEXT NOT NULL
      );

      CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO meta(key, value) VALUES ('id_key', 'idkey/v1');
    `,
  },
  {
    version: 2,
    name: 'shadow records without an index by decision id',
    // Shadow records are read by candidate only. An index over random decision ids cost the
    // decision service's store thread more than every other write of a decision together.
    up: `DROP INDEX IF EXISTS shadow_id;`,
  },
];
