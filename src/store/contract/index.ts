/**
 * The store contract suite: every adapter of the store port runs these same tests (the memory
 * adapter beside its code; SQLite, SQLite in its own thread and PostgreSQL in test/integration).
 * One suite per role of port.ts, so an adapter that serves only some roles runs only theirs; a full
 * `Store` runs them all with `describeStoreContract`.
 */
import { hasBundleArchive, type Store } from '../port.js';
import { describeAuditContract } from './audit.js';
import { describeBundleArchiveContract } from './bundles.js';
import { describeEventContract } from './events.js';
import { describeLedgerContract } from './ledger.js';
import { describeShadowContract } from './shadow.js';
import { describeStateContract } from './state.js';

export { decisionFixture, turnFixture } from './fixtures.js';
export { describeAuditContract, describeBundleArchiveContract, describeEventContract, describeLedgerContract, describeShadowContract, describeStateContract };

/**
 * Register every role's contract tests for one adapter; `makeStore` returns a fresh, empty store for
 * each test. `optional` names the optional roles it serves (the bundle archive).
 */
export function describeStoreContract(name: string, makeStore: () => Store | Promise<Store>, optional: { bundles?: boolean } = {}): void {
  describeEventContract(name, makeStore);
  describeLedgerContract(name, makeStore);
  describeStateContract(name, makeStore);
  describeShadowContract(name, makeStore);
  describeAuditContract(name, makeStore);
  if (optional.bundles === true) {
    describeBundleArchiveContract(name, async () => {
      const s = await makeStore();
      if (!hasBundleArchive(s)) throw new Error(`${name} does not keep bundles`);
      return s;
    });
  }
}
