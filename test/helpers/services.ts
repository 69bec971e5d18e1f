/**
 * The servers the scale-out tests need (PostgreSQL, NATS with JetStream): where they are
 * (UMBRA_TEST_PG_URL, UMBRA_TEST_NATS_URL, defaults on loopback), whether they answer, and scratch
 * databases and names that tests create and drop. In CI (CI=true) a missing server fails the run
 * loudly; elsewhere the tests skip with a message saying how to start it (DEVELOPERS.md).
 */
import { randomBytes } from 'node:crypto';
import { connect as netConnect } from 'node:net';
import pg from 'pg';

/** The PostgreSQL server tests use (trust authentication, an existing database to connect to). */
export const PG_URL = process.env.UMBRA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The NATS server (JetStream enabled) tests use. */
export const NATS_URL = process.env.UMBRA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

function hostPort(url: string, port: number): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname || '127.0.0.1', port: u.port === '' ? port : Number(u.port) };
}

/** True when something accepts TCP connections at the URL's host and port. */
export function reachable(url: string, defaultPort: number, timeoutMs = 1500): Promise<boolean> {
  const { host, port } = hostPort(url, defaultPort);
  return new Promise((resolve) => {
    const s = netConnect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/**
 * Whether the tests needing `name` run: true when the server answers; when it does not, throws in
 * CI and otherwise prints why the tests skip and returns false.
 */
export async function serviceAvailable(name: 'postgres' | 'nats'): Promise<boolean> {
  const ok = name === 'postgres' ? await reachable(PG_URL, 5432) : await reachable(NATS_URL, 4222);
  if (ok) return true;
  const how = name === 'postgres' ? `PostgreSQL at ${redacted(PG_URL)} (UMBRA_TEST_PG_URL)` : `NATS JetStream at ${NATS_URL} (UMBRA_TEST_NATS_URL)`;
  if (process.env.CI === 'true') throw new Error(`${how} is not reachable, and CI=true: these tests must run. Start it (see DEVELOPERS.md).`);
  process.stderr.write(`skipping: ${how} is not reachable; start it to run these tests (see DEVELOPERS.md)\n`);
  return false;
}

function redacted(url: string): string {
  return url.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:***@');
}

/** A fresh lower-case name for databases, schemas and streams of one test run. */
export function scratchName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** The URL of another database on the same server. */
export function databaseUrl(db: string, base = PG_URL): string {
  const u = new URL(base);
  u.pathname = `/${db}`;
  return u.toString();
}

/** Create a scratch database; returns its URL and a function that drops it. */
export async function scratchDatabase(prefix = 'umbra_t'): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = scratchName(prefix);
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(name),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
