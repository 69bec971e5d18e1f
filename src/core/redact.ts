/**
 * Credentials never leave a process in text: connection URLs (`postgres://user:secret@host/db`,
 * `nats://token@host`) are shown with their password replaced. Pure, so errors, logs, metrics and
 * the dashboard can all use the same rule.
 */

/** What replaces a password. */
export const REDACTED = '***';

// scheme://user:password@  or  scheme://token@ (a lone user part of nats:// is a token)
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]*)(?::([^\s/@]*))?@/gi;

/**
 * A connection URL with its password replaced by `***` (the user name stays, it helps finding
 * which role connects). A NATS URL's token (a user part without password) is replaced too.
 * Text that is no URL comes back unchanged.
 */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

/** Every `scheme://user:password@` inside free text (an error message, a log line) with the password replaced. */
export function redactSecrets(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_CREDENTIALS, (_m, scheme: string, user: string, pass: string | undefined) => {
    if (pass !== undefined) return `${scheme}${user}:${REDACTED}@`;
    // scheme://token@host: a token (nats) or a user without password (postgres): keep user names of SQL URLs
    return /^nats|^tls/i.test(scheme) ? `${scheme}${REDACTED}@` : `${scheme}${user}@`;
  });
}
