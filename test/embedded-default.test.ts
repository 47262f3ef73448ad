import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { embeddedBinaries, reachableBinaries, type Binaries } from '../src/pg/embedded/binaries.js';
import { runProgram } from '../src/pg/embedded/cluster.js';
import { serverUser } from '../src/pg/embedded/os-user.js';
import { CLI, ROOT, runCli, sql, tempDir, testServers } from './helpers.js';

const postgresProcessesFor = (dir: string) =>
  execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dir) && /postgres/.test(l) && !l.includes('ps -eo'));

/** Wait (bounded) until `check` holds; the test asserts the final state, not how long it took. */
async function eventually(check: () => boolean, limitMs = 30_000): Promise<boolean> {
  const end = Date.now() + limitMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return check();
}

/** Retried: a server's exiting processes (and its watchdog) may still be writing in its data dir for a moment. */
const removeTemp = (dir: string) => fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });

const isRoot = process.getuid?.() === 0;
/** The checkout must be readable by `nobody` for the ordinary-user test (a clone under /root is not). */
const nobodyCanRun = isRoot && spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', CLI], { stdio: 'ignore' }).status === 0;

describe('the embedded PostgreSQL', () => {
  it('--embedded starts it, says so on the first line, and the command stops it leaving no process behind', async () => {
    const cwd = await tempDir();
    try {
      const result = await runCli(['status', '--embedded', '--json'], { cwd });
      expect(result.stderr.split('\n')[0]).toMatch(
        /--embedded: using the embedded PostgreSQL in \.pgharden\/embedded\/ \(database codex_memory\)/,
      );
      expect(result.json).toMatchObject({ database: 'codex_memory' });
      const dataDir = path.join(cwd, '.pgharden/embedded/data');
      expect(await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).toMatch(/^18/);
      await expect(fs.stat(path.join(dataDir, 'postmaster.pid'))).rejects.toThrow();
      expect(postgresProcessesFor(dataDir)).toEqual([]);
      // The password file is private to the operator.
      expect((await fs.stat(path.join(cwd, '.pgharden/embedded/password'))).mode & 0o077).toBe(0);
      // PGHARDEN_EMBEDDED=1 asks for it too, and reuses the same data directory.
      const again = await runCli(['status', '--json'], { cwd, env: { PGHARDEN_EMBEDDED: '1' } });
      expect(again.stderr.split('\n')[0]).toMatch(/PGHARDEN_EMBEDDED=1: using the embedded PostgreSQL/);
      expect(again.json).toMatchObject({ database: 'codex_memory' });
      expect(postgresProcessesFor(dataDir)).toEqual([]);
    } finally {
      await removeTemp(cwd);
    }
  });

  it('a script that names no server gets exit 3 and one line saying how, never a throwaway server', async () => {
    const cwd = await tempDir();
    try {
      for (const args of [['status'], ['apply', '--yes'], ['plan', '--json']]) {
        const r = await runCli(args, { cwd });
        expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(3);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/no server named: give --db URL/);
      }
      // How NRPE runs a check: UNKNOWN, not OK about a database it just created.
      const check = await runCli(['monitor', '--once'], { cwd });
      expect(check.code).toBe(3);
      expect(check.stdout).toMatch(/^PGHARDEN UNKNOWN - no server named/);
      await expect(fs.stat(path.join(cwd, '.pgharden/embedded'))).rejects.toThrow();
      // --embedded and --db together name two servers: bad usage.
      expect((await runCli(['status', '--embedded', '--db', 'postgres://x@127.0.0.1/x'], { cwd })).code).toBe(2);
    } finally {
      await removeTemp(cwd);
    }
  });

  it('a command killed with SIGKILL leaves no server behind: the watchdog stops it', async () => {
    const cwd = await tempDir();
    try {
      const child = spawn(process.execPath, [CLI, 'monitor', '--embedded', '--plain', '--interval', '500ms'], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      const dataDir = path.join(cwd, '.pgharden/embedded/data');
      expect(await eventually(() => out.length > 0 && postgresProcessesFor(dataDir).length > 0)).toBe(true);
      const status = await runCli(['embedded', 'status', '--json'], { cwd });
      expect(status.json).toMatchObject({ ok: true, owners: [child.pid] });
      expect(status.json.running.port).toBeGreaterThan(0);
      child.kill('SIGKILL');
      expect(await eventually(() => postgresProcessesFor(dataDir).length === 0)).toBe(true);
      expect((await runCli(['embedded', 'status', '--json'], { cwd })).json).toMatchObject({ running: null, owners: [] });
    } finally {
      await removeTemp(cwd);
    }
  });

  it('embedded stop ends a server still in use; the data is kept', async () => {
    const cwd = await tempDir();
    try {
      const child = spawn(process.execPath, [CLI, 'monitor', '--embedded', '--plain', '--interval', '500ms'], {
        cwd,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const dataDir = path.join(cwd, '.pgharden/embedded/data');
      expect(await eventually(() => postgresProcessesFor(dataDir).length > 0)).toBe(true);
      const stopped = await runCli(['embedded', 'stop', '--json'], { cwd });
      expect(stopped.json).toMatchObject({ ok: true, stopped: true });
      expect(postgresProcessesFor(dataDir)).toEqual([]);
      child.kill('SIGTERM');
      expect(await fs.readFile(path.join(dataDir, 'PG_VERSION'), 'utf8')).toMatch(/^18/);
    } finally {
      await removeTemp(cwd);
    }
  });

  // As root, proven as `nobody`; as an ordinary user, every other test here already is the proof.
  it.runIf(nobodyCanRun)('works for an ordinary login user: no OS user created, initdb runs as the caller', async () => {
    const cwd = await tempDir();
    execFileSync('chown', ['nobody', cwd]);
    try {
      const r = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, CLI, 'status', '--embedded', '--json'], {
        cwd,
        env: { PATH: process.env.PATH!, HOME: cwd, NO_COLOR: '1' },
        encoding: 'utf8',
      });
      // status is a check: a fresh codex_memory is not in the policy's target state (exit 1), but it connected.
      expect(r.status, r.stderr).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ database: 'codex_memory', inTargetState: false });
      const owner = execFileSync('stat', ['-c', '%U', path.join(cwd, '.pgharden/embedded/data')], { encoding: 'utf8' }).trim();
      expect(owner).toBe('nobody');
      expect(postgresProcessesFor(cwd)).toEqual([]);
    } finally {
      await removeTemp(cwd);
    }
  });

  it.runIf(isRoot)(
    'as root in a directory the postgres user cannot enter: the data moves to a reachable place, and the first line says where and why',
    async () => {
      const parent = await tempDir();
      const cwd = path.join(parent, 'private');
      await fs.mkdir(cwd, { mode: 0o700 });
      let root = path.join(
        os.tmpdir(),
        `pgharden-embedded-${createHash('sha256').update(path.join(cwd, '.pgharden/embedded')).digest('hex').slice(0, 12)}`,
      );
      try {
        // Someone else's directory in its place (the temp dir is shared) is refused, never used.
        await fs.mkdir(root);
        await fs.chown(root, Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })), 0);
        const taken = await runCli(['status', '--embedded', '--json'], { cwd });
        expect(taken.code).toBe(3);
        expect(taken.stderr).toContain(`${root} belongs to another user: remove it, then try again`);
        await fs.rm(root, { recursive: true });

        const r = await runCli(['status', '--embedded', '--json'], { cwd });
        expect(r.code, r.stderr).not.toBe(3);
        const first = r.stderr.split('\n')[0];
        expect(first).toMatch(/using the embedded PostgreSQL in \S*pgharden-embedded-[0-9a-f]{12}\/ \(the OS user postgres cannot enter /);
        root = first.match(/in (\S*pgharden-embedded-[0-9a-f]{12})\//)![1];
        expect(postgresProcessesFor(root)).toEqual([]);
      } finally {
        await fs.rm(parent, { recursive: true, force: true });
        if (root) await fs.rm(root, { recursive: true, force: true });
      }
    },
  );

  it.runIf(isRoot)(
    'as root with the whole checkout private, binaries included: they run from one root-owned copy the postgres user can reach',
    async () => {
      const parent = await tempDir();
      try {
        // A checkout the postgres user cannot enter, holding the binaries package (as /root/project/node_modules/… would).
        const pkg = path.join(parent, 'private', 'pkg');
        const real = await embeddedBinaries({ name: 'the current user' });
        const realPkg = path.dirname(path.dirname(path.dirname(real.initdb)));
        await fs.mkdir(path.dirname(pkg), { mode: 0o700 });
        await fs.cp(realPkg, pkg, { recursive: true, verbatimSymlinks: true });
        const moved = (file: string) => path.join(pkg, path.relative(realPkg, file));
        const inside: Binaries = { initdb: moved(real.initdb), pg_ctl: moved(real.pg_ctl), postgres: moved(real.postgres) };
        const who = serverUser();
        await expect(runProgram(inside.postgres, ['--version'], who, parent)).rejects.toThrow(/EACCES/);

        const cache = path.join(parent, 'cache');
        await fs.mkdir(cache, { mode: 0o755 });
        const reachable = reachableBinaries(inside, who, cache);
        expect(reachable.postgres.startsWith(cache)).toBe(true);
        expect(await runProgram(reachable.postgres, ['--version'], who, parent)).toMatch(/^postgres \(PostgreSQL\) 18/);
        expect(reachableBinaries(inside, who, cache)).toEqual(reachable); // copied once, then reused
        const copy = path.dirname(path.dirname(reachable.postgres));
        expect(await fs.readdir(cache)).toEqual([path.basename(copy)]);

        // A copy someone else could have written to is never run as postgres.
        await fs.chmod(copy, 0o777);
        expect(() => reachableBinaries(inside, who, cache)).toThrow(/writable by others: remove it/);
      } finally {
        await removeTemp(parent);
      }
    },
  );
});

describe('render', () => {
  it('the committed 009 migration pair is what the default policy renders against a fresh database', async () => {
    // Only the embedded test server is private to this run (and has room for a limit of 200).
    const [server] = testServers();
    await sql(server, 'CREATE DATABASE codex_memory');
    const out = await tempDir();
    try {
      const url = new URL(server.url);
      url.pathname = '/codex_memory';
      const result = await runCli(['render', '--db', url.toString(), '--out', out]);
      expect(result.code, result.stderr).toBe(0);
      for (const file of ['009_security_hardening.sql', '009_security_hardening_rollback.sql']) {
        const committed = await fs.readFile(path.join(ROOT, 'migration/migrations', file), 'utf8');
        expect(await fs.readFile(path.join(out, file), 'utf8'), `${file} is stale: run \`pgharden render\` on a fresh codex_memory`).toBe(
          committed,
        );
      }
    } finally {
      await sql(server, 'DROP DATABASE IF EXISTS codex_memory WITH (FORCE)');
      await fs.rm(out, { recursive: true, force: true });
    }
  });
});
