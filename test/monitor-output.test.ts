import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { withClient } from '../src/pg/client.js';
import { AlertEngine } from '../src/monitor/engine.js';
import { rulesFromPolicy } from '../src/monitor/rules.js';
import { sampleOnce } from '../src/monitor/sample.js';
import { liveViewSink } from '../src/monitor/sinks/live-view.js';
import { parsePolicy } from '../src/policy/parse.js';
import { runCli, targetFor, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { inStateFor, MONITOR_POLICY, monitorPolicy, session } from './monitor-helpers.js';

describe.each(testServers())('monitor output on $name PostgreSQL', (server) => {
  it('off a terminal: plain lines, one per sample and event, and --duration stops it with exit 0', async () => {
    await withTestDatabase(server, uniqueName('mon_plain'), async (db) => {
      const r = await runCli([
        'monitor',
        '--db',
        urlFor(server, db),
        '--policy',
        await monitorPolicy(),
        '--interval',
        '200ms',
        '--duration',
        '3s',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/connected to postgres:\/\/.*\/mon_plain_/);
      // 1 connection (the monitor's own slot), but no state counts: it does not count itself as active
      expect(
        lines.filter((l) => / connections 1\/\d+ \(\d+% of max_connections - reserved\)\s+longest_query=.* firing=0 poll=/.test(l)).length,
      ).toBeGreaterThanOrEqual(2);
      expect(r.stdout).not.toContain('active=1');
      expect(r.stdout).not.toContain('\x1b[');
    });
  });

  it('on a terminal: the live view draws the header, the session coloured past its threshold and the firing alert', async () => {
    await withTestDatabase(server, uniqueName('mon_live'), async (db) => {
      const rules = rulesFromPolicy(parsePolicy(MONITOR_POLICY, 'test').alerts);
      const idle = await session(server, db, 'billing-worker');
      try {
        await idle.query('BEGIN');
        await idle.query('SELECT 1');
        await inStateFor(server, idle.pid, 1_200);
        const sample = await withClient(targetFor(server, db), (c) => sampleOnce(c, db));
        const engine = new AlertEngine(rules);
        const transitions = engine.update(sample);

        const out = Object.assign(new PassThrough(), { columns: 160, rows: 40 }) as unknown as NodeJS.WriteStream;
        let screen = '';
        (out as unknown as PassThrough).on('data', (d) => (screen += d));
        const view = liveViewSink({ out, rules, target: `postgres://x@h/${db}`, intervalMs: 1_000, top: 10, recycling: false });
        view.sample!(sample, engine.firing());
        for (const t of transitions) view.transition!(t);
        view.close!();

        expect(screen.startsWith('\x1b[?1049h')).toBe(true); // alternate screen, restored on close
        expect(screen.endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
        const last = screen.slice(screen.lastIndexOf('\x1b[H'));
        expect(last).toContain(`pgharden monitor — postgres://x@h/${db}`);
        expect(last).toMatch(/connections 2\/\d+/);
        expect(last).toMatch(new RegExp(`${idle.pid} .*billing-worker\\s+idle in transaction\\s+\\x1b\\[33m\\s+1\\.\\ds\\x1b\\[0m`)); // warning colour
        expect(last).toContain('FIRING (1)');
        expect(last).toMatch(/WARNING.*idle_in_transaction/);
      } finally {
        await idle.end();
      }
    });
  });
});
