import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrl } from './redact.js';
import { UmbraError } from './errors.js';

describe('redaction of connection credentials', () => {
  it('replaces the password of a URL and keeps the rest', () => {
    expect(redactUrl('postgres://umbra:s3cr%40t@db.internal:5432/umbra?schema=a')).toBe('postgres://umbra:***@db.internal:5432/umbra?schema=a');
    expect(redactUrl('postgresql://umbra@db:5432/u')).toBe('postgresql://umbra@db:5432/u');
    expect(redactUrl('nats://tok3n@127.0.0.1:4222')).toBe('nats://***@127.0.0.1:4222');
    expect(redactUrl('nats://user:pw@127.0.0.1:4222')).toBe('nats://user:***@127.0.0.1:4222');
    expect(redactUrl('/var/lib/umbra.db')).toBe('/var/lib/umbra.db');
  });

  it('finds URLs inside free text, and UmbraError messages never carry a password', () => {
    expect(redactSecrets('cannot reach postgres://a:b@h/d (and postgres://c:d@e/f)')).toBe('cannot reach postgres://a:***@h/d (and postgres://c:***@e/f)');
    const e = new UmbraError('E_STORE', 'store at postgres://umbra:hunter2@db/x is down');
    expect(e.message).not.toContain('hunter2');
    expect(JSON.stringify(e.toJSON())).not.toContain('hunter2');
  });
});
