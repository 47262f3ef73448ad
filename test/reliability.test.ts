import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import {
  CLI,
  TEST_POLICY,
  policyFile,
  runCli,
  snapshot,
  sql,
  tempDir,
  testServers,
  uniqueName,
  urlFor,
  withTestDatabase,
} from './helpers.js';

/**
 * The invariant of "Failure is the product", and the holes a fault and security test found:
 * every way a run or rollback could report success on the wrong state, each as a test.
 */
const FAST = `${TEST_POLICY.replace('guard_window: 10s', 'guard_window: 2s')}`;
const OTHER = FAST.replace('statement_timeout: 2s', 'statement_timeout: 3s').replace('work_mem: 256MB', 'work_mem: 128MB');

/** `pgharden run` in the background, as an operator's terminal would have it: its exit code and stdout when it ends. */
function startRun(args: string[], cwd: string): { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [CLI, 'run', ...args], { cwd });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  return { done: new Promise((resolve) => child.on('exit', (code) => resolve({ code, out }))) };
}

/** Wait (bounded, 30 s) until `query` returns a row in `db`: the event, not a duration. */
async function waitForRow(server: Parameters<typeof sql>[0], db: string, query: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if ((await sql(server, query, [], db).catch(() => [])).length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no row for ${query} in 30 s`);
}

const runStatus = async (server: Parameters<typeof sql>[0], db: string, id: string) =>
  (await sql<{ status: string }>(server, 'SELECT status FROM pgharden.runs WHERE id = $1', [id], db))[0]?.status;

describe.each(testServers())('reliability on $name PostgreSQL', (server) => {
  it('rollback is a three-way merge: a value changed by hand since the run is refused (named, exit 1), --force restores it; unrelated role settings are never touched', async () => {
    await withTestDatabase(server, uniqueName('merge'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '8MB'`);
      const before = await snapshot(server, db);
      const args = ['--db', urlFor(server, db), '--policy', await policyFile(FAST), '--json'];
      expect((await runCli(['apply', ...args])).code).toBe(0);
      // A DBA changes one value after the apply, and someone adds an unrelated role setting.
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET statement_timeout = '5min'`);
      await sql(server, `CREATE ROLE ${quoteIdent(db + '_r')}`).catch(() => undefined);
      await sql(server, `ALTER ROLE ${quoteIdent(db + '_r')} IN DATABASE ${quoteIdent(db)} SET work_mem = '1MB'`);
      const during = await snapshot(server, db);

      const refused = await runCli(['rollback', ...args]);
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/statement_timeout: was \(not set\), the run set 2s, now 5min/);
      expect(refused.stderr).toMatch(/Nothing was changed/);
      expect(await snapshot(server, db)).toEqual(during);

      const forced = await runCli(['rollback', '--force', ...args]);
      expect(forced.code, forced.stderr).toBe(0);
      const after = await snapshot(server, db);
      expect(after.setconfig).toEqual(before.setconfig);
      expect(after.connlimit).toBe(before.connlimit);
      // The role's own setting, which the run never touched, is still there.
      expect(after.roles).toEqual([{ role: `${db}_r`, setconfig: ['work_mem=1MB'] }]);
      await sql(server, `DROP ROLE ${quoteIdent(db + '_r')}`).catch(() => undefined);
    });
  });

  it('runs are rolled back newest first: an older run under a newer one is refused with the order to follow', async () => {
    await withTestDatabase(server, uniqueName('order'), async (db) => {
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const a = await runCli(['apply', '--db', url, '--policy', await policyFile(FAST), '--json']);
      const b = await runCli(['apply', '--db', url, '--policy', await policyFile(OTHER), '--json']);
      expect([a.code, b.code]).toEqual([0, 0]);
      const refused = await runCli(['rollback', '--db', url, '--run', a.json.runId, '--json']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(
        new RegExp(`roll back newest first:\\n  pgharden rollback --run ${b.json.runId}.*\\n  pgharden rollback --run ${a.json.runId}`),
      );
      expect(await runStatus(server, db, a.json.runId)).toBe('applied');

      const first = await runCli(['rollback', '--db', url, '--json']);
      expect(first.json.runId).toBe(b.json.runId);
      const second = await runCli(['rollback', '--db', url, '--json']);
      expect(second.json.runId).toBe(a.json.runId);
      expect(await snapshot(server, db)).toEqual(before);
      // Nothing is resurrected: a third plain rollback has nothing to do.
      expect((await runCli(['rollback', '--db', url, '--json'])).json.status).toBe('nothing_to_roll_back');
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('an apply that fails part-way undoes the changes it made; a later plain rollback never resurrects it over a DBA value', async () => {
    await withTestDatabase(server, uniqueName('partial'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '8MB'`);
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const policy = await policyFile(FAST);
      // Hold pg_database so the last change (CONNECTION LIMIT) cannot get its lock; the settings before it can.
      const blocker = new pg.Client(urlFor(server, 'postgres'));
      blocker.on('error', () => undefined);
      await blocker.connect();
      await blocker.query('BEGIN; LOCK TABLE pg_database IN SHARE MODE');
      let failed: Awaited<ReturnType<typeof runCli>>;
      try {
        failed = await runCli(['apply', '--db', url, '--policy', policy, '--lock-timeout', '100ms', '--json']);
      } finally {
        await blocker.query('ROLLBACK');
        await blocker.end();
      }
      expect(failed.code, failed.stderr).toBe(5);
      expect(failed.stderr).toMatch(
        /failed part-way: .*lock.*The [1-9] change\(s\) already applied were rolled back; the database is as it was/s,
      );
      expect(await snapshot(server, db)).toEqual(before);
      const [run] = await sql<{ id: string; status: string }>(
        server,
        `SELECT id, status FROM pgharden.runs WHERE command = 'apply'`,
        [],
        db,
      );
      expect(run.status).toBe('rolled_back');

      // Later: a successful apply and rollback, then a DBA's own value. A plain rollback must not reach back to the failed run.
      expect((await runCli(['apply', '--db', url, '--policy', policy, '--json'])).code).toBe(0);
      expect((await runCli(['rollback', '--db', url, '--json'])).code).toBe(0);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '128MB'`);
      const dba = await snapshot(server, db);
      const plain = await runCli(['rollback', '--db', url, '--json']);
      expect(plain.code).toBe(0);
      expect(plain.json.status).toBe('nothing_to_roll_back');
      expect(await snapshot(server, db)).toEqual(dba);
    });
  });

  it('a crash mid-apply is not hidden: apply again is refused naming the run, status names the command, and that command restores exactly', async () => {
    await withTestDatabase(server, uniqueName('crash'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '8MB'`);
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const policy = await policyFile(FAST);
      const crashed = await runCli(['apply', '--db', url, '--policy', policy, '--json'], { env: { PGHARDEN_FAULT: 'set work_mem' } });
      expect(crashed.code).not.toBe(0);
      const half = await snapshot(server, db);
      expect(half).not.toEqual(before);

      const again = await runCli(['apply', '--db', url, '--policy', policy, '--json']);
      expect(again.code).toBe(4);
      expect(again.stderr).toMatch(/did not finish.*\n.*interrupted while applying.*\n\s+next: pgharden rollback --run (\S+)/);
      expect(await snapshot(server, db)).toEqual(half);

      const status = await runCli(['status', '--db', url, '--policy', policy, '--json']);
      expect(status.json.unfinished).toHaveLength(1);
      const next: string = status.json.unfinished[0].next;
      expect(next).toMatch(/^pgharden rollback --run \S+$/);
      const rolled = await runCli([...next.split(' ').slice(1), '--db', url, '--json']);
      expect(rolled.code, rolled.stderr).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('a run that fails after the change (a lost log file, an error of ours) ends rolled back with the cause, never "internal error" with changes in place', async () => {
    await withTestDatabase(server, uniqueName('runerr'), async (db) => {
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const policy = await policyFile(FAST);
      // Bad input is refused before anything changes.
      const typo = await runCli(['run', '--db', url, '--policy', policy, '--yes', '--no-probes', '--log', '/typo/pg.log', '--json']);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toMatch(/--log \/typo\/pg.log: cannot read it \(ENOENT\); nothing was changed/);
      expect(await snapshot(server, db)).toEqual(before);

      // The log file vanishes after the check: the guard cannot read it, and says so in the record; the run still decides.
      const dir = await tempDir();
      const log = path.join(dir, 'pg.log');
      await fs.writeFile(log, '');
      const run = startRun(['--db', url, '--policy', policy, '--yes', '--no-probes', '--window', '3s', '--log', log, '--json'], dir);
      await waitForRow(server, db, `SELECT 1 FROM pgharden.runs WHERE status = 'guarding'`);
      await fs.rm(log, { force: true });
      const { code, out } = await run.done;
      const json = JSON.parse(out);
      expect([0, 1]).toContain(code);
      expect(['passed', 'rolled_back']).toContain(json.outcome);
      if (json.outcome === 'rolled_back') expect(await snapshot(server, db)).toEqual(before);
      else expect((await runCli(['rollback', '--db', url, '--json'])).code).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('run --resume refuses a run that was rolled back, and a rollback during a run is never overwritten by a later "passed"', async () => {
    await withTestDatabase(server, uniqueName('resume'), async (db) => {
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const policy = await policyFile(FAST);
      const cwd = await tempDir();
      // A run in its guard window holds the change lock: a rollback waits, and gives up naming the holder.
      const run = startRun(['--db', url, '--policy', policy, '--yes', '--no-probes', '--window', '8s', '--json'], cwd);
      await waitForRow(server, db, `SELECT 1 FROM pgharden.runs WHERE status = 'guarding'`);
      const during = await runCli(['rollback', '--db', url, '--lock-wait', '1s', '--json'], { cwd });
      expect(during.code).toBe(4);
      expect(during.stderr).toMatch(/another pgharden is changing this database/);
      const { code, out } = await run.done;
      expect(code).toBe(0);
      const runId = JSON.parse(out).runId;
      expect(await runStatus(server, db, runId)).toBe('passed');
      // One definition of "the applied run": a passed run is the rollout status and monitor track.
      const status = await runCli(['status', '--db', url, '--policy', policy, '--json'], { cwd });
      expect(status.json.latestApply.runId).toBe(runId);

      // Roll it back; then --resume of that run, or of "the latest", is refused: it is not resumable.
      expect((await runCli(['rollback', '--db', url, '--json'], { cwd })).code).toBe(0);
      const resumeIt = await runCli(['run', '--db', url, '--policy', policy, '--resume', runId, '--json'], { cwd });
      expect(resumeIt.code).toBe(2);
      expect(resumeIt.stderr).toMatch(/cannot be resumed: it is rolled_back/);
      const resumeLatest = await runCli(['run', '--db', url, '--policy', policy, '--resume', '--json'], { cwd });
      expect(resumeLatest.code).toBe(2);
      expect(resumeLatest.stderr).toMatch(/nothing to resume: the latest run \S+ is rolled_back/);
      expect(await snapshot(server, db)).toEqual(before);
      // The report of the passed run now says it was rolled back later.
      const report = await runCli(['report', '--db', url, '--run', runId, '--format', 'json'], { cwd });
      expect(JSON.parse(report.stdout)).toMatchObject({ outcome: 'passed', currentState: 'rolled_back' });
      expect(JSON.parse(report.stdout).headline).toMatch(/^SUPERSEDED: passed, then rolled back later/);
    });
  });

  it('a resumed run keeps the backup it took before its first change (not the half-applied state)', async () => {
    await withTestDatabase(server, uniqueName('keepbk'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET work_mem = '8MB'`);
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const policy = await policyFile(FAST);
      const cwd = await tempDir();
      const crashed = await runCli(['run', '--db', url, '--policy', policy, '--yes', '--no-probes', '--json'], {
        cwd,
        env: { PGHARDEN_FAULT: 'stage verify started' },
      });
      expect(crashed.code).not.toBe(0);
      const [run] = await sql<{ id: string }>(server, `SELECT id FROM pgharden.runs WHERE command = 'run'`, [], db);
      const file = path.join(cwd, '.pgharden/runs', run.id, 'backup.json');
      const original = await fs.readFile(file, 'utf8');
      expect(JSON.parse(original).dbSettings).toEqual([{ name: 'work_mem', value: '8MB' }]);

      const resumed = await runCli(['run', '--db', url, '--policy', policy, '--resume', '--window', '2s', '--json'], { cwd });
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.json.outcome).toBe('passed');
      expect(await fs.readFile(file, 'utf8')).toBe(original);
      expect((await runCli(['rollback', '--db', url, '--json'], { cwd })).code).toBe(0);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it("concurrency: a migrate during a run's guard window waits for the change lock; concurrent apply and rollback leave one consistent state", async () => {
    await withTestDatabase(server, uniqueName('conc'), async (db) => {
      const before = await snapshot(server, db);
      const url = urlFor(server, db);
      const policy = await policyFile(FAST);
      const cwd = await tempDir();
      const dir = path.join(cwd, 'migrations');
      await fs.mkdir(dir);
      await fs.writeFile(path.join(dir, '001_t.sql'), 'CREATE TABLE t (id int);\n');
      await fs.writeFile(path.join(dir, '001_t_rollback.sql'), 'DROP TABLE t;\n');
      const run = startRun(['--db', url, '--policy', policy, '--yes', '--no-probes', '--window', '6s', '--json'], cwd);
      await waitForRow(server, db, `SELECT 1 FROM pgharden.runs WHERE status = 'guarding'`);
      const refused = await runCli(['migrate', 'up', '--db', url, '--dir', dir, '--lock-wait', '1s'], { cwd });
      expect(refused.code, refused.stderr).toBe(4);
      expect(await sql(server, `SELECT 1 FROM pg_tables WHERE tablename = 't'`, [], db)).toHaveLength(0);
      // Waiting long enough, it runs once the window is over.
      const waited = await runCli(['migrate', 'up', '--db', url, '--dir', dir, '--lock-wait', '60s'], { cwd });
      expect(waited.code, waited.stderr).toBe(0);
      expect((await run.done).code).toBe(0);

      // apply of another policy and rollback at the same time: whichever order the lock gives, the result is a known state.
      const [applied, rolled] = await Promise.all([
        runCli(['apply', '--db', url, '--policy', await policyFile(OTHER), '--json'], { cwd }),
        runCli(['rollback', '--db', url, '--json'], { cwd }),
      ]);
      expect([0]).toContain(rolled.code);
      expect(applied.code, applied.stderr).toBe(0);
      // Roll back whatever is in place, newest first, and the database is exactly as before.
      for (let i = 0; i < 3; i++) await runCli(['rollback', '--db', url, '--json'], { cwd });
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('a run on a database already in the target state whose check then fails: a clear "changed nothing" outcome and a report, never a stuck run', async () => {
    await withTestDatabase(server, uniqueName('noopchk'), async (db) => {
      const url = urlFor(server, db);
      const cwd = await tempDir();
      const flag = path.join(cwd, 'broken');
      const policy = await policyFile(`${FAST}rollback_triggers:\n  checks:\n    - name: app healthy\n      command: test ! -e ${flag}\n`);
      expect((await runCli(['apply', '--db', url, '--policy', policy, '--json'], { cwd })).code).toBe(0);
      const applied = await snapshot(server, db);
      const run = startRun(['--db', url, '--policy', policy, '--yes', '--no-probes', '--window', '10s', '--json'], cwd);
      await waitForRow(server, db, `SELECT 1 FROM pgharden.steps WHERE name = 'stage guard'`);
      await fs.writeFile(flag, '');
      const { code, out } = await run.done;
      expect(code).toBe(1);
      const result = JSON.parse(out);
      expect(result.outcome).toBe('triggered');
      expect(result.record.error).toMatch(/this run changed nothing/);
      expect(result.reports.md).toBeTruthy();
      // Nothing was rolled back (nothing of this run was in place); the earlier apply's values stay.
      expect(await snapshot(server, db)).toEqual(applied);
      const status = await runCli(['status', '--db', url, '--policy', policy, '--json'], { cwd });
      expect(status.json.unfinished).toEqual([]);
      expect(status.json.latestApply).not.toBeNull();
    });
  });
});
