/**
 * Where the audit keys come from. A key signs every audit record (an HMAC; see core/rollout/audit.ts)
 * and never lives in the store: whoever can write the database but not read the key cannot write a
 * record that verifies. Two sources, in this order:
 *
 * - `UMBRA_AUDIT_KEY` (passed in by the composition root): one key or several separated by commas,
 *   newest first; nothing is ever written then;
 * - the key file (`audit.key_file`, default `<data-dir>/audit.key`): one key per line, newest first,
 *   mode 0600 (refused when group or others can read it); created with a new random key the first
 *   time a record is signed.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { auditKeyOf, type AuditKey } from '../../core/rollout/index.js';
import { ensureSecretFile, parseSecrets, readSecretFile } from '../../platform/secret-file.js';

/** The keys of the audit chain. */
export interface AuditKeySource {
  /** Where the keys come from, for messages (`UMBRA_AUDIT_KEY`, `key file <path>`). */
  readonly where: string;
  /** The keys at hand, newest first; empty when there are none (yet). */
  keys(): AuditKey[];
  /** The key that signs new records (the newest), created on first use when the source can. */
  signingKey(): { key: AuditKey; created: boolean };
}

/** Keys given as text (the environment variable). */
export function envKeys(text: string, name = 'UMBRA_AUDIT_KEY'): AuditKeySource {
  const keys = parseSecrets(text, name).map(auditKeyOf);
  if (keys.length === 0) throw new UmbraError(ErrorCode.CONFIG_INVALID, `${name} is set but holds no key`);
  return { where: name, keys: () => keys, signingKey: () => ({ key: keys[0]!, created: false }) };
}

/** Keys kept in a file; created with one random key the first time a record is signed. */
export function fileKeys(path: string): AuditKeySource {
  let cached: AuditKey[] | undefined;
  const load = (): AuditKey[] => {
    // Re-read while absent: another process may create the file at any time.
    if (cached === undefined) {
      const s = readSecretFile(path);
      if (s !== undefined) cached = s.map(auditKeyOf);
    }
    return cached ?? [];
  };
  return {
    where: `key file ${path}`,
    keys: load,
    signingKey() {
      const have = load();
      if (have.length > 0) return { key: have[0]!, created: false };
      const r = ensureSecretFile(path);
      cached = r.secrets.map(auditKeyOf);
      return { key: cached[0]!, created: r.created };
    },
  };
}
