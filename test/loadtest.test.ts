import fs from 'node:fs/promises';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/load/histogram.js';
import { runLoad } from '../src/load/run-load.js';
import { summarise } from '../src/preflight/latency.js';
import { quoteIdent } from '../src/pg/quote.js';
import { runCli, sql, targetFor, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

type Latency = { p50Ms: number; p95Ms: number; p99Ms: number; maxMs: number };
const ordered = (l: Latency) => l.p50Ms > 0 && l.p50Ms <= l.p95Ms && l.p95Ms <= l.p99Ms && l.p99Ms <= l.maxMs;

describe('latency histogram', () => {
  it('agrees with the exact percentiles within its bucket precision', () => {
    const h = new LatencyHistogram();
    const ms: number[] = [];
    for (let i = 0; i < 20_000; i++) {
      const v = Math.exp(Math.random() * 10); // 1 µs .. 22 ms
      h.record(v);
      ms.push(v / 1000);
    }
    const exact = summarise(ms);
    const approx = h.summary();
    for (const k of ['p50Ms', 'p95Ms', 'p99Ms'] as const) expect(Math.abs(approx[k] - exact[k]) / exact[k]).toBeLessThan(0.03);
    expect(approx.maxMs).toBe(exact.maxMs);
  });
});

describe.each(testServers())('loadtest on $name PostgreSQL', (server) => {
  // 1 s is enough: the clock starts once every client is logged in, and work in flight at the end
  // completes (grace period); each second flat out costs both cores, times three workloads.
  it.each(['select', 'tpcb', 'app'])(
    '%s for 1 s: non-zero throughput, ordered percentiles, stored in the run directory and the state schema',
    async (workload) => {
      await withTestDatabase(server, uniqueName(`load_${workload}`), async (db) => {
        const r = await runCli([
          'loadtest',
          '--db',
          urlFor(server, db),
          '--workload',
          workload,
          '--clients',
          '4',
          '--duration',
          '1s',
          '--scale',
          '1',
          '--json',
        ]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json).toMatchObject({ engine: 'pgharden', workload, clients: 4, scale: 1 });
        expect(r.json.tps).toBeGreaterThan(0);
        expect(r.json.transactions).toBeGreaterThan(0);
        expect(ordered(r.json.latency)).toBe(true);
        expect(r.json.errors).toEqual({});
        const saved = JSON.parse(await fs.readFile(r.json.file, 'utf8'));
        expect(saved.transactions).toBe(r.json.transactions);
        const rows = await sql<{ run_id: string; tps: number }>(server, `SELECT run_id, tps FROM pgharden.loadtests`, [], db);
        expect(rows).toEqual([{ run_id: r.json.runId, tps: r.json.tps }]);
      });
    },
  );

  it('app under a 1 s statement timeout and 1 s idle timeout counts 57014 and 25P03 by step, and keeps going', async () => {
    await withTestDatabase(server, uniqueName('load_limits'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '1s'`);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET idle_in_transaction_session_timeout = '1s'`);
      const r = await runCli([
        'loadtest',
        '--db',
        urlFor(server, db),
        '--workload',
        'app',
        '--clients',
        '6',
        '--duration',
        '3s',
        '--scale',
        '1',
        '--slow',
        '1500ms',
        '--think',
        '1200ms',
        '--drop',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json.errors['57014']).toBeGreaterThan(0);
      expect(r.json.errorsByStep['slow.statement']['57014']).toBe(r.json.errors['57014']);
      expect(r.json.errors['25P03']).toBeGreaterThan(0);
      expect(r.json.errorsByStep['think.idle']['25P03']).toBe(r.json.errors['25P03']);
      expect(r.json.reconnects).toBeGreaterThan(0);
      expect(r.json.transactions).toBeGreaterThan(0);
      expect(r.json.errorMessages['57014']).toMatch(/statement timeout/);
      // --drop removed the bench tables; the results stay.
      expect(await sql(server, `SELECT 1 FROM pg_namespace WHERE nspname = 'pgharden_bench'`, [], db)).toHaveLength(0);
      const human = await runCli([
        'loadtest',
        '--db',
        urlFor(server, db),
        '--workload',
        'select',
        '--clients',
        '2',
        '--duration',
        '1s',
        '--scale',
        '1',
        '--drop',
      ]);
      expect(human.stdout).toMatch(/errors: none/);
    });
  });

  it('a result stored with a label can be compared with a later run of the same workload', async () => {
    await withTestDatabase(server, uniqueName('load_compare'), async (db) => {
      const base = ['loadtest', '--db', urlFor(server, db), '--clients', '2', '--duration', '1s', '--scale', '1', '--json'];
      const before = await runCli([...base, '--label', 'baseline']);
      expect(before.code, before.stderr).toBe(0);
      const after = await runCli([
        ...base,
        '--run-id',
        before.json.runId,
        '--label',
        'after-apply',
        '--compare',
        `${before.json.runId}:baseline`,
      ]);
      expect(after.code, after.stderr).toBe(0);
      expect(after.json.comparison).toMatchObject({ with: `${before.json.runId}:baseline`, errorRate: { before: 0, after: 0 } });
      expect(after.json.comparison.tpsChange).toBeCloseTo(after.json.tps / before.json.tps - 1, 5);
      const labels = await sql<{ label: string }>(
        server,
        `SELECT label FROM pgharden.loadtests WHERE run_id = $1 ORDER BY id`,
        [before.json.runId],
        db,
      );
      expect(labels.map((l) => l.label)).toEqual(['baseline', 'after-apply']);
      const missing = await runCli([...base, '--compare', 'no-such-run']);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no stored loadtest result for run no-such-run/);
    });
  });

  it('--pgbench drives pgbench into the same result shape', async () => {
    await withTestDatabase(server, uniqueName('load_pgbench'), async (db) => {
      const r = await runCli([
        'loadtest',
        '--db',
        urlFor(server, db),
        '--pgbench',
        '--clients',
        '2',
        '--duration',
        '2s',
        '--scale',
        '1',
        '--json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ engine: 'pgbench', workload: 'select', clients: 2 });
      expect(r.json.tps).toBeGreaterThan(0);
      expect(ordered(r.json.latency)).toBe(true);
    });
  });

  it('runLoad as a library (in-process when there is no built worker) and rejects bad usage', async () => {
    await withTestDatabase(server, uniqueName('load_lib'), async (db) => {
      const result = await runLoad(targetFor(server, db), { workload: 'tpcb', clients: 2, durationMs: 1000, scale: 1, pipeline: 2 });
      expect(result.transactions).toBeGreaterThan(0);
      const [{ n }] = await sql<{ n: number }>(server, `SELECT count(*)::int AS n FROM pgharden_bench.pgbench_history`, [], db);
      expect(n).toBe(result.transactions);
      // A socket of the caller's own (as with TLS): reads arrive as 'data' events instead of into our buffer.
      const ownSocket = targetFor(server, db);
      ownSocket.config = { ...ownSocket.config, stream: () => new net.Socket() };
      const viaEvents = await runLoad(ownSocket, { workload: 'select', clients: 2, durationMs: 500 });
      expect(viaEvents.transactions).toBeGreaterThan(0);
      const bad = await runCli(['loadtest', '--db', urlFor(server, db), '--workload', 'app', '--pipeline', '2']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--pipeline works with the select and tpcb/);
      expect((await runCli(['loadtest', '--db', urlFor(server, db), '--workload', 'nope'])).code).toBe(2);
    });
  });
});
