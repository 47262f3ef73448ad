import { spawn, type ChildProcess } from 'node:child_process';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { CLI, runCli, sql, tempDir, testServers, uniqueName, urlFor, type TestServer } from './helpers.js';

/** Short timeouts so the runs are quick; the code under test is the same. */
const POLICY = `
settings:
  statement_timeout: 2s
  idle_in_transaction_session_timeout: 3s
connection_limit: 20
guard_window: 1s
`;

interface Fleet {
  name: string;
  prefix: string;
  dbs: string[];
  control: string;
  controlUrl: string;
  inventory: string;
  dir: string;
  env: Record<string, string>;
}

/** The server URL without its password: an inventory must not hold one (it comes from PGPASSWORD). */
function bare(server: TestServer, db: string): { url: string; env: Record<string, string> } {
  const u = new URL(urlFor(server, db));
  const password = decodeURIComponent(u.password);
  u.password = '';
  return { url: u.toString(), env: password ? { PGPASSWORD: password } : {} };
}

/** N small databases with unique names, a control database, and an inventory discovering them; dropped after. */
async function withFleet(server: TestServer, n: number, inventory: (f: Fleet) => string, fn: (f: Fleet) => Promise<void>): Promise<void> {
  const prefix = uniqueName('fleett');
  const dbs = Array.from({ length: n }, (_, i) => `${prefix}_${String(i + 1).padStart(2, '0')}`);
  const control = `${prefix}ctl`; // does not match the discover pattern `${prefix}_%`
  for (const db of [...dbs, control]) await sql(server, `CREATE DATABASE ${quoteIdent(db)}`);
  const dir = await tempDir('pgharden-fleet-');
  try {
    const { url, env } = bare(server, 'postgres');
    const f: Fleet = {
      name: prefix,
      prefix,
      dbs,
      control,
      controlUrl: urlFor(server, control),
      inventory: path.join(dir, 'fleet.yaml'),
      dir,
      env,
    };
    await fsp.writeFile(path.join(dir, 'policy.yaml'), POLICY);
    await fsp.writeFile(
      f.inventory,
      `name: ${prefix}\npolicy: policy.yaml\ndiscover: { server: "${url}", databases: "${prefix}\\\\_%" }\n${inventory(f)}`,
    );
    await fn(f);
  } finally {
    for (const db of [...dbs, control]) await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

const fleetCli = (f: Fleet, args: string[]) =>
  runCli(['fleet', ...args, '--inventory', f.inventory, '--control', f.controlUrl], { cwd: f.dir, env: f.env });

/** What the target's own journal says: runs that got as far as applying, and their states. */
async function journal(server: TestServer, db: string): Promise<{ id: string; status: string }[]> {
  const [present] = await sql<{ p: boolean }>(server, `SELECT to_regclass('pgharden.runs') IS NOT NULL AS p`, [], db);
  if (!present.p) return [];
  return sql(server, `SELECT id, status FROM pgharden.runs WHERE applied_at IS NOT NULL ORDER BY started_at`, [], db);
}

/** A run's state in the target's own journal; null when it never got a row there. */
async function runStatus(server: TestServer, db: string, id: string): Promise<string | null> {
  const [present] = await sql<{ p: boolean }>(server, `SELECT to_regclass('pgharden.runs') IS NOT NULL AS p`, [], db);
  if (!present.p) return null;
  const [row] = await sql<{ status: string }>(server, 'SELECT status FROM pgharden.runs WHERE id = $1', [id], db);
  return row?.status ?? null;
}

async function dbSettings(server: TestServer, db: string): Promise<string[]> {
  const [row] = await sql<{ s: string[] | null }>(
    server,
    `SELECT (SELECT setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) AS s FROM pg_database d WHERE datname = $1`,
    [db],
  );
  return [...(row.s ?? [])].sort();
}

/** A CLI process we can kill, with its output kept. */
function spawnCli(
  f: Fleet,
  args: string[],
): { child: ChildProcess; exited: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^PG|^DATABASE_URL$/.test(k)) env[k] = v;
  const child = spawn(process.execPath, [CLI, 'fleet', ...args, '--inventory', f.inventory, '--control', f.controlUrl], {
    cwd: f.dir,
    env: { ...env, ...f.env, NO_COLOR: '1' },
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, exited };
}

async function until<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each(testServers())('pgharden fleet on $name PostgreSQL', (server) => {
  it('rolls a discovered set out in waves, canary first, and proves each target from its own journal', async () => {
    await withFleet(
      server,
      4,
      () => 'waves: [1, 50%, 100%]\nconcurrency: 2\nprobes: false\nguard_window: 0s\n',
      async (f) => {
        const plan = await fleetCli(f, ['plan', '--json']);
        expect(plan.code, plan.stderr).toBe(0);
        expect(plan.json.status.waves.map((w: { size: number }) => w.size)).toEqual([1, 1, 2]);
        expect(plan.json.status.targets.map((t: { key: string }) => t.key.split('/').pop())).toEqual(f.dbs);
        expect(await journal(server, f.dbs[0])).toEqual([]); // planning changed no target

        const r = await fleetCli(f, ['run', '--yes', '--json']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json.end).toBe('passed');
        expect(r.json.status.counts).toMatchObject({ passed: 4, pending: 0, running: 0, rolled_back: 0 });
        for (const db of f.dbs) {
          expect(await dbSettings(server, db)).toEqual(['idle_in_transaction_session_timeout=3s', 'statement_timeout=2s']);
          const runs = await journal(server, db);
          expect(runs).toHaveLength(1);
          expect(runs[0].status).toBe('passed');
          expect(r.json.status.targets.find((t: { key: string }) => t.key.endsWith(`/${db}`)).runId).toBe(runs[0].id);
        }
        // Waves in order: no target of a wave started before every target of the previous one finished.
        const times = await sql<{ wave: number; first_start: Date; last_finish: Date }>(
          server,
          `SELECT wave, min(started_at) AS first_start, max(finished_at) AS last_finish FROM pgharden_fleet.targets WHERE fleet_id = $1 GROUP BY wave ORDER BY wave`,
          [f.name],
          f.control,
        );
        for (let i = 1; i < times.length; i++)
          expect(times[i].first_start.getTime()).toBeGreaterThanOrEqual(times[i - 1].last_finish.getTime());

        const status = await fleetCli(f, ['status', '--json']);
        expect(status.code).toBe(0);
        expect(status.json).toMatchObject({ status: 'passed', total: 4, failures: [], untouched: [] });
        const again = await fleetCli(f, ['run', '--yes']);
        expect(again.code).toBe(0); // a finished rollout: nothing more to do, nothing applied twice
        for (const db of f.dbs) expect(await journal(server, db)).toHaveLength(1);
      },
    );
  });

  it('a failing canary stops the fleet, rolls itself back, and leaves every other target untouched', async () => {
    // The business check sleeps 2.5 s on the canary only: fine before the change, cancelled by the new 2 s statement_timeout after it.
    const canaryPolicy = (f: { dbs: string[] }) =>
      `${POLICY}rollback_triggers:\n  checks:\n    - name: nightly_report\n      sql: SELECT pg_sleep(CASE WHEN current_database() = '${f.dbs[0]}' THEN 2.5 ELSE 0 END)\n`;
    await withFleet(
      server,
      4,
      () => 'waves: [1, 100%]\nconcurrency: 2\nprobes: false\n',
      async (f) => {
        await fsp.writeFile(path.join(f.dir, 'policy.yaml'), canaryPolicy(f));
        const before = await Promise.all(f.dbs.map((db) => dbSettings(server, db)));
        const r = await fleetCli(f, ['run', '--yes', '--json']);
        expect(r.code, r.stderr).toBe(1);
        expect(r.json.end).toBe('stopped');
        const s = r.json.status;
        expect(s.status).toBe('stopped');
        expect(s.stopReason).toBe('wave 1: 1 of 1 target(s) failed (max_failures 1)');
        expect(s.failures).toHaveLength(1);
        expect(s.failures[0]).toMatchObject({
          key: expect.stringMatching(new RegExp(`/${f.dbs[0]}$`)),
          wave: 1,
          state: 'rolled_back',
          rolledBack: true,
        });
        expect(s.failures[0].reason).toMatch(/checks: .*nightly_report/);
        // Its worker wrote the failed run's report, for the person who opens it first.
        const report = await fsp.readFile(path.join(f.dir, '.pgharden/runs', s.failures[0].runId, 'report.md'), 'utf8');
        expect(report).toContain('nightly_report');
        expect(s.untouched.map((k: string) => k.split('/').pop())).toEqual(f.dbs.slice(1));
        // The canary is back to exactly what it had; nothing else was touched (not even a pgharden schema).
        expect(await dbSettings(server, f.dbs[0])).toEqual(before[0]);
        expect((await journal(server, f.dbs[0]))[0].status).toBe('rolled_back');
        for (const [i, db] of f.dbs.slice(1).entries()) {
          expect(await dbSettings(server, db)).toEqual(before[i + 1]);
          expect(await journal(server, db)).toEqual([]);
        }
        expect(r.stdout + r.stderr).toContain('STOPPED');
        // A stopped fleet is not resumed into the next wave: a person decides (exit 4).
        const resume = await fleetCli(f, ['resume', '--yes']);
        expect(resume.code).toBe(4);
        expect(resume.stderr).toContain('stopped: wave 1: 1 of 1 target(s) failed');
      },
    );
  });

  it("resumes after a killed worker: expired claims are finished from the targets' journals, each target applied once", async () => {
    await withFleet(
      server,
      5,
      () => 'waves: [100%]\nconcurrency: 2\nprobes: false\nguard_window: 3s\n',
      async (f) => {
        const first = spawnCli(f, ['run', '--yes', '--lease', '2s']);
        // Kill it once a target has passed and another is in its guard window (applied, result not yet recorded).
        await until('a passed target and an applied one in flight', async () => {
          const rows = await sql<{ state: string; db: string; run_id: string | null }>(
            server,
            `SELECT state, coalesce(database, '') AS db, run_id FROM pgharden_fleet.targets WHERE fleet_id = $1`,
            [f.name],
            f.control,
          ).catch(() => []);
          if (!rows.some((r) => r.state === 'passed')) return false;
          for (const r of rows.filter((x) => x.state === 'running' && x.run_id)) {
            const runs = await journal(server, r.db);
            if (runs.some((x) => x.id === r.run_id && x.status === 'guarding')) return true;
          }
          return false;
        });
        first.child.kill('SIGKILL');
        const killed = await first.exited;
        expect(killed.signal).toBe('SIGKILL');
        const orphaned = await sql<{ key: string; run_id: string; db: string }>(
          server,
          `SELECT key, run_id, database AS db FROM pgharden_fleet.targets WHERE fleet_id = $1 AND state = 'running' AND run_id IS NOT NULL`,
          [f.name],
          f.control,
        );
        // Which orphaned runs got past preflight before the worker died: those are continued; a run with no row,
        // or still in preflight, changed nothing and is replaced by a new one (src/fleet/target-run.ts).
        const continued = new Map<string, boolean>();
        for (const o of orphaned) {
          const state = await runStatus(server, o.db, o.run_id);
          continued.set(o.key, state !== null && state !== 'preflight' && state !== 'failed');
        }
        expect([...continued.values()]).toContain(true);

        const status = await fleetCli(f, ['status', '--json']);
        expect(status.json.counts.running).toBe(orphaned.length);

        const resume = await fleetCli(f, ['resume', '--yes', '--lease', '2s', '--json']);
        expect(resume.code, resume.stderr).toBe(0);
        expect(resume.json.status.counts).toMatchObject({ passed: 5, running: 0, pending: 0 });
        // Each target applied exactly once, by its own journal; an orphaned run was continued, not run again.
        for (const db of f.dbs) {
          const runs = await journal(server, db);
          expect(runs, db).toHaveLength(1);
          expect(runs[0].status).toBe('passed');
        }
        // An orphaned run past preflight was continued under its own id; one that had changed nothing was replaced.
        for (const o of orphaned) {
          const runId = resume.json.status.targets.find((t: { key: string }) => t.key === o.key).runId;
          if (continued.get(o.key)) expect(runId, o.key).toBe(o.run_id);
          else expect(runId, o.key).not.toBe(o.run_id);
        }
        const reclaimed = await sql<{ target: string }>(
          server,
          `SELECT target FROM pgharden_fleet.events WHERE fleet_id = $1 AND kind = 'reclaimed'`,
          [f.name],
          f.control,
        );
        expect(reclaimed.map((e) => e.target).sort()).toEqual(orphaned.map((o) => o.key).sort());
      },
    );
  });

  it('a worker that died after its run passed but before recording it: the next claim records it from the journal, no second run', async () => {
    await withFleet(
      server,
      2,
      () => 'waves: [100%]\nconcurrency: 2\nprobes: false\nguard_window: 0s\n',
      async (f) => {
        const first = await fleetCli(f, ['run', '--yes', '--json']);
        expect(first.code, first.stderr).toBe(0);
        const runIds = first.json.status.targets.map((t: { runId: string }) => t.runId);
        // Rewind the control database to the moment before the results were written: claimed by a dead worker, lease expired.
        await sql(
          server,
          `UPDATE pgharden_fleet.targets SET state = 'running', lease_owner = 'dead:1:x', lease_until = now() - interval '1 second', outcome = NULL, finished_at = NULL WHERE fleet_id = $1`,
          [f.name],
          f.control,
        );
        await sql(server, `UPDATE pgharden_fleet.fleets SET status = 'running', finished_at = NULL WHERE id = $1`, [f.name], f.control);
        const r = await fleetCli(f, ['resume', '--yes', '--json']);
        expect(r.code, r.stderr).toBe(0);
        expect(r.json.status.counts.passed).toBe(2);
        expect(r.json.status.targets.map((t: { runId: string }) => t.runId)).toEqual(runIds);
        for (const db of f.dbs) {
          expect(await journal(server, db)).toHaveLength(1);
          expect(await sql(server, `SELECT id FROM pgharden.runs`, [], db)).toHaveLength(1); // not even a new preflight
        }
      },
    );
  });

  it('two workers on one control database share one rollout with no double work', async () => {
    await withFleet(
      server,
      8,
      () => 'waves: [100%]\nconcurrency: 2\nprobes: false\nguard_window: 1s\n',
      async (f) => {
        expect((await fleetCli(f, ['plan'])).code).toBe(0);
        const a = spawnCli(f, ['worker', '--yes']);
        const b = spawnCli(f, ['worker', '--yes']);
        const [ra, rb] = await Promise.all([a.exited, b.exited]);
        expect(ra.code, ra.out).toBe(0);
        expect(rb.code, rb.out).toBe(0);
        const rows = await sql<{ state: string; worker: string; attempts: number }>(
          server,
          `SELECT state, worker, attempts FROM pgharden_fleet.targets WHERE fleet_id = $1`,
          [f.name],
          f.control,
        );
        expect(rows.every((r) => r.state === 'passed' && r.attempts === 1)).toBe(true);
        expect(new Set(rows.map((r) => r.worker)).size).toBe(2);
        for (const db of f.dbs) expect(await journal(server, db), db).toHaveLength(1);
      },
    );
  });

  it('pauses between waves with wave_pause: manual, and fleet resume finishes the rollout', async () => {
    await withFleet(
      server,
      3,
      () => 'waves: [1, 100%]\nconcurrency: 2\nprobes: false\nguard_window: 0s\nwave_pause: manual\n',
      async (f) => {
        const r = await fleetCli(f, ['run', '--yes', '--json']);
        expect(r.code, r.stderr).toBe(130);
        expect(r.json.end).toBe('paused');
        expect(r.json.status).toMatchObject({
          paused: true,
          pausedBy: 'wave_pause: manual',
          currentWave: 2,
          counts: { passed: 1, pending: 2 },
        });
        expect(r.stdout + r.stderr).toContain('fleet resume');
        const st = await fleetCli(f, ['status']);
        expect(st.stdout).toContain('PAUSED');
        expect(st.stdout).toMatch(/left untouched \(2\)/);
        const resumed = await fleetCli(f, ['resume', '--yes', '--json']);
        expect(resumed.code, resumed.stderr).toBe(0);
        expect(resumed.json.status).toMatchObject({ status: 'passed', paused: false, counts: { passed: 3 } });
        const events = await sql<{ kind: string }>(
          server,
          `SELECT kind FROM pgharden_fleet.events WHERE fleet_id = $1 AND kind IN ('wave', 'resumed', 'passed') ORDER BY id`,
          [f.name],
          f.control,
        );
        expect(events.map((e) => e.kind)).toEqual(['wave', 'resumed', 'passed']);
      },
    );
  });

  it('fleet pause stops a worker after the targets in hand (exit 130)', async () => {
    await withFleet(
      server,
      4,
      () => 'waves: [100%]\nconcurrency: 1\nprobes: false\nguard_window: 2s\n',
      async (f) => {
        const w = spawnCli(f, ['run', '--yes']);
        await until(
          'a target in flight',
          async () =>
            (
              await sql<{ n: number }>(
                server,
                `SELECT count(*)::int AS n FROM pgharden_fleet.targets WHERE fleet_id = $1 AND state = 'running'`,
                [f.name],
                f.control,
              ).catch(() => [{ n: 0 }])
            )[0].n > 0,
        );
        const p = await fleetCli(f, ['pause']);
        expect(p.code, p.stderr).toBe(0);
        const done = await w.exited;
        expect(done.code, done.out).toBe(130);
        const s = (await fleetCli(f, ['status', '--json'])).json;
        expect(s.paused).toBe(true);
        expect(s.counts.running).toBe(0);
        expect(s.counts.pending).toBeGreaterThan(0);
        expect((await fleetCli(f, ['resume', '--yes'])).code).toBe(0);
      },
    );
  });
});
