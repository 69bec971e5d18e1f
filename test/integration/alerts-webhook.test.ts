import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Alerter } from '../../src/services/monitoring/alerts.js';
import { AlertsConfigSchema } from '../../src/core/config/alerts.js';

const servers: ReturnType<typeof createServer>[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function receiver(failFirst: number): Promise<{ url: string; bodies: unknown[]; attempts: () => number }> {
  const bodies: unknown[] = [];
  let n = 0;
  const s = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      n++;
      if (n <= failFirst) {
        res.writeHead(503).end('not yet');
        return;
      }
      bodies.push(JSON.parse(data));
      res.writeHead(204).end();
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, bodies, attempts: () => n };
}

describe('alert webhooks', () => {
  it('delivers to a local receiver, retrying with backoff when it first fails', async () => {
    const rx = await receiver(2);
    const sleeps: number[] = [];
    const alerter = new Alerter({
      config: AlertsConfigSchema.parse({ webhooks: [{ url: rx.url }], backoff_ms: 100 }),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
    });
    const a = alerter.raise('rolled_back', 'critical', 'candidate c1 rolled back: success rate harm');
    await alerter.drain();
    expect(rx.attempts()).toBe(3);
    expect(rx.bodies).toEqual([{ source: 'umbra', alert: a }]);
    expect(alerter.deliveries.map((d) => [d.attempt, d.ok, d.status])).toEqual([
      [1, false, 503],
      [2, false, 503],
      [3, true, 204],
    ]);
    // exponential backoff with jitter in [base/2, base)
    expect(sleeps[0]).toBeGreaterThanOrEqual(50);
    expect(sleeps[0]).toBeLessThan(100);
    expect(sleeps[1]).toBeGreaterThanOrEqual(100);
    expect(sleeps[1]).toBeLessThan(200);
  });
  it('gives up after max attempts on a receiver that is down, recording each attempt, without throwing', async () => {
    const rx = await receiver(0);
    const down = rx.url.replace(/:\d+\//, ':1/');
    const alerter = new Alerter({ config: AlertsConfigSchema.parse({ webhooks: [{ url: down }], max_attempts: 3 }), sleep: async () => undefined });
    alerter.raise('drift', 'warning', 'reward drift');
    await alerter.drain();
    expect(alerter.deliveries).toHaveLength(3);
    expect(alerter.deliveries.every((d) => !d.ok && d.error)).toBe(true);
  });
  it('filters by kind and keeps the latest alerts for the dashboard', async () => {
    const rx = await receiver(0);
    const alerter = new Alerter({ config: AlertsConfigSchema.parse({ webhooks: [{ url: rx.url, kinds: ['drift'] }] }) });
    alerter.raise('stage_changed', 'info', 'shadow → canary');
    alerter.raise('drift', 'warning', 'reward drift');
    await alerter.drain();
    expect(rx.bodies).toHaveLength(1);
    expect(alerter.latest().map((a) => a.kind)).toEqual(['drift', 'stage_changed']);
  });
});
