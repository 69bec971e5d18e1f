/**
 * Versioned schema migrations of the PostgreSQL store. They run once per database (schema),
 * whoever starts first: under a session advisory lock, each in its own transaction, recorded in
 * `schema_migrations`. Never edit a migration that has shipped; append the next version.
 */
import type { Migration } from '../sqlite/migrations.js';

export type { Migration };

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'decision log, turns, outcomes, quarantine, checkpoints, sessions, state, shadow, audit',
    up: `
      CREATE TABLE decisions (
        seq    BIGSERIAL PRIMARY KEY,
        id     TEXT   NOT NULL UNIQUE,   -- the event id: every write is idempotent on it
        point  TEXT   NOT NULL,
        ts     TEXT   NOT NULL,
        ts_ms  BIGINT NOT NULL,
        action TEXT   NOT NULL,
        body   TEXT   NOT NULL,          -- JSON: context, actions and the optional fields (codec.ts)
        sdepth INTEGER                   -- the turn's depth in its session (overrides context.session_depth)
      );
      CREATE INDEX decisions_point_seq ON decisions(point, seq);

      CREATE TABLE turns (
        seq           BIGSERIAL PRIMARY KEY,
        id            TEXT   NOT NULL UNIQUE,
        ts            TEXT   NOT NULL,
        ts_ms         BIGINT NOT NULL,
        route         TEXT,
        intent        TEXT,
        session       TEXT,
        session_depth INTEGER,
        outcome       TEXT   NOT NULL
      );

      CREATE TABLE sessions (
        session TEXT PRIMARY KEY,
        turns   INTEGER NOT NULL
      );

      CREATE TABLE outcomes (
        id      TEXT PRIMARY KEY,
        ts      TEXT,
        reward  DOUBLE PRECISION,
        outcome TEXT    NOT NULL,
        updates INTEGER NOT NULL,
        pending INTEGER NOT NULL
      );
      CREATE INDEX outcomes_pending ON outcomes(id) WHERE pending > 0;

      CREATE TABLE quarantine (
        seq         BIGSERIAL PRIMARY KEY,
        source      TEXT   NOT NULL,
        byte_offset BIGINT NOT NULL,
        reason      TEXT   NOT NULL,
        excerpt     TEXT   NOT NULL,
        detail      TEXT,
        at          TEXT   NOT NULL
      );
      CREATE INDEX quarantine_reason ON quarantine(reason);

      CREATE TABLE checkpoints (
        source      TEXT PRIMARY KEY,
        dev         TEXT   NOT NULL,
        ino         TEXT   NOT NULL,
        byte_offset BIGINT NOT NULL,
        size        BIGINT NOT NULL,
        fp          TEXT   NOT NULL,
        fp_len      INTEGER NOT NULL,
        skip_from   BIGINT,
        updated_at  TEXT   NOT NULL
      );

      CREATE TABLE state (
        key        TEXT PRIMARY KEY,
        value      TEXT    NOT NULL,
        version    INTEGER NOT NULL,
        updated_at TEXT    NOT NULL
      );

      CREATE TABLE shadow (
        seq       BIGSERIAL PRIMARY KEY,
        id        TEXT NOT NULL,
        candidate TEXT NOT NULL,
        ts        TEXT NOT NULL,
        body      TEXT NOT NULL
      );
      CREATE INDEX shadow_candidate ON shadow(candidate, seq);

      CREATE TABLE audit (
        seq  BIGINT PRIMARY KEY,
        ts   TEXT NOT NULL,
        body TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'policy bundles shared by every replica',
    up: `
      CREATE TABLE bundles (
        version    TEXT PRIMARY KEY,   -- a content hash: a version's files never change
        files      TEXT NOT NULL,      -- JSON: file name → text (the manifest and one artifact per point)
        created_at TEXT NOT NULL
      );
    `,
  },
];
