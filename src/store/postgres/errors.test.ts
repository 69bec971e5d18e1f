/**
 * Which PostgreSQL failures mean "the store is away" (keep what you have, try again) rather than "this
 * statement failed": the difference decides whether a reader of the audit log sees an outage or damage.
 */
import { describe, expect, it } from 'vitest';
import { isConnectionError } from './store.js';

const withCode = (code: string, message = 'x'): Error => Object.assign(new Error(message), { code });

describe('isConnectionError', () => {
  it('counts an unreachable, restarting, exhausted or timed-out server as away', () => {
    for (const e of [
      withCode('ECONNREFUSED'),
      withCode('57P01', 'terminating connection due to administrator command'),
      withCode('57P03', 'the database system is starting up'),
      withCode('57014', 'canceling statement due to statement timeout'),
      withCode('53300', 'too many connections'),
      withCode('53100', 'could not extend file: No space left on device'),
      withCode('08006'),
      withCode('58030', 'could not read block'),
      new Error('timeout exceeded when trying to connect'), // pg-pool: every connection busy
      new Error('Query read timeout'),
      new Error('Connection terminated unexpectedly'),
    ]) expect(isConnectionError(e), e.message).toBe(true);
  });

  it('does not count a wrong statement or a conflict as away', () => {
    for (const e of [withCode('42P01', 'relation "x" does not exist'), withCode('23505', 'duplicate key'), withCode('40001', 'could not serialize'), withCode('22P02', 'invalid input syntax'), new Error('Unexpected token } in JSON')]) {
      expect(isConnectionError(e), e.message).toBe(false);
    }
  });
});
