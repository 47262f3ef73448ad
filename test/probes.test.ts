import { describe, expect, it } from 'vitest';
import { silentLog } from '../src/log.js';
import { quoteIdent } from '../src/pg/quote.js';
import { parsePolicy } from '../src/policy/parse.js';
import { runProbes } from '../src/verify/probes/run.js';
import { policyFile, runCli, sql, targetFor, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const TIMEOUTS = 'settings:\n  statement_timeout: 2s\n  idle_in_transaction_session_timeout: 2s\n';
type Probe = {
  probe: string;
  status: string;
  role: string;
  measuredMs?: number;
  toleranceMs?: number;
  admitted?: number;
  expectedAdmitted?: number;
};

describe.each(testServers())('functional probes on $name PostgreSQL', (server) => {
  it('pass with 2 s timeouts, measured within tolerance, and fail once the database has no timeout', async () => {
    await withTestDatabase(server, uniqueName('probes'), async (db) => {
      const args = ['--db', urlFor(server, db), '--policy', await policyFile(TIMEOUTS), '--json'];
      expect((await runCli(['apply', ...args])).code).toBe(0);
      const good = await runCli(['verify', '--probes', ...args]);
      expect(good.code, good.stderr).toBe(0);
      // Concurrent, so the whole takes about the longest timeout, not the sum: both probes are seen running at once.
      let mostAtOnce = 0;
      const ctx = { target: targetFor(server, db), policy: parsePolicy(TIMEOUTS, 'test'), log: silentLog };
      await runProbes(ctx, { onProgress: (p) => (mostAtOnce = Math.max(mostAtOnce, p.running.length)) });
      expect(mostAtOnce).toBe(2);
      const probes: Probe[] = good.json.probes;
      expect(probes.map((p) => p.probe).sort()).toEqual(['idle_in_transaction_session_timeout', 'statement_timeout']);
      for (const p of probes) {
        expect(p.status).toBe('passed');
        expect(p.measuredMs).toBeGreaterThanOrEqual(2_000 - 50); // the server's timer starts just before our stamp
        expect(p.measuredMs).toBeLessThanOrEqual(2_000 + p.toleranceMs!);
      }

      await sql(server, `ALTER DATABASE ${quoteIdent(db)} RESET ALL`);
      const bad = await runCli(['verify', '--probes', ...args]);
      expect(bad.code).toBe(1);
      expect(bad.json.probes.map((p: Probe) => p.status)).toEqual(['failed', 'failed']);
      const human = await runCli(['verify', '--probes', ...args.slice(0, -1)]);
      expect(human.stdout).toMatch(/ran to completion: nothing cancelled it/);
      expect(human.stdout).toMatch(/was still alive after/);
    });
  });

  it('--probe-url as a role with statement_timeout = 0 fails, while the connecting superuser passes', async () => {
    const role = uniqueName('app_login');
    await withTestDatabase(server, uniqueName('probeurl'), async (db) => {
      await sql(server, `CREATE ROLE ${role} LOGIN PASSWORD 'probe-pw'`);
      try {
        await sql(server, `ALTER ROLE ${role} IN DATABASE ${quoteIdent(db)} SET statement_timeout = 0`);
        const policy = await policyFile('settings:\n  statement_timeout: 2s\n');
        const base = ['--db', urlFor(server, db), '--policy', policy, '--json'];
        expect((await runCli(['apply', ...base])).code).toBe(0);
        const appUrl = new URL(urlFor(server, db));
        appUrl.username = role;
        appUrl.password = 'probe-pw';
        const result = await runCli(['verify', '--probe-url', appUrl.toString(), ...base]);
        expect(result.code).toBe(1);
        const byRole = Object.fromEntries(result.json.probes.map((p: Probe) => [p.role, p.status]));
        expect(byRole).toEqual({ [role]: 'failed', postgres: 'passed' });
        expect(result.stdout + result.stderr).not.toContain('probe-pw');
      } finally {
        await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(db)} WITH (FORCE)`);
        await sql(server, `DROP ROLE IF EXISTS ${role}`);
      }
    });
  });

  it('the connection-limit probe admits exactly 5 non-superuser sessions under a limit of 5, and leaves nothing behind', async () => {
    await withTestDatabase(server, uniqueName('connlimit'), async (db) => {
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} CONNECTION LIMIT 5`);
      const ctx = { target: targetFor(server, db), policy: parsePolicy('connection_limit: 5\n', 'test'), log: silentLog };
      const [probe] = await runProbes(ctx, { connections: true });
      expect(probe).toMatchObject({ probe: 'connection_limit', status: 'passed', admitted: 5, expectedAdmitted: 5, sqlstate: '53300' });
      const left = await sql(server, `SELECT rolname FROM pg_roles WHERE rolname = $1`, [probe.role]);
      expect(left).toHaveLength(0);
      const sessions = await sql(server, `SELECT pid FROM pg_stat_activity WHERE datname = $1`, [db]);
      expect(sessions).toHaveLength(0);

      // Through the CLI, verify's own session takes one of the 5 slots: the probe accounts for it.
      const cli = await runCli([
        'verify',
        '--probe-connections',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile('connection_limit: 5\n'),
        '--json',
      ]);
      expect(cli.code, cli.stderr).toBe(0);
      expect(cli.json.probes[0]).toMatchObject({ status: 'passed', admitted: 4, expectedAdmitted: 4 });
    });
  });

  it('idle_session_timeout (PG 14+) and transaction_timeout (PG 17+) get probes of the same kind; a server without the parameter skips it', async () => {
    await withTestDatabase(server, uniqueName('pg17'), async (db) => {
      const [{ v }] = await sql<{ v: number }>(server, `SELECT current_setting('server_version_num')::int AS v`);
      await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET idle_session_timeout = '2s'`);
      if (v >= 170000) await sql(server, `ALTER DATABASE ${quoteIdent(db)} SET transaction_timeout = '2s'`);
      const ctx = {
        target: targetFor(server, db),
        policy: parsePolicy('settings:\n  transaction_timeout: 2s\n  idle_session_timeout: 2s\n', 'test'),
        log: silentLog,
      };
      const probes = Object.fromEntries((await runProbes(ctx)).map((p) => [p.probe, p]));
      expect(probes.idle_session_timeout).toMatchObject({ status: 'passed', sqlstate: '57P05' });
      if (v >= 170000) expect(probes.transaction_timeout).toMatchObject({ status: 'passed', sqlstate: '25P04' });
      else
        expect(probes.transaction_timeout).toMatchObject({
          status: 'skipped',
          ok: false,
          message: expect.stringMatching(/no parameter transaction_timeout/),
        });
    });
  });

  it('a probe that cannot run is skipped with the reason, never passed', async () => {
    await withTestDatabase(server, uniqueName('skip'), async (db) => {
      const ctx = {
        target: targetFor(server, db),
        policy: parsePolicy('settings:\n  statement_timeout: 0\nconnection_limit: 5\n', 'test'),
        log: silentLog,
      };
      const probes = await runProbes(ctx, { connections: true });
      expect(probes.map((p) => [p.probe, p.status, p.ok])).toEqual([
        ['connection_limit', 'skipped', false],
        ['statement_timeout', 'skipped', false],
      ]);
      expect(probes[0].message).toMatch(/no connection limit/);
      expect(probes[1].message).toMatch(/disables statement_timeout/);
    });
  });
});
