import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedServer } from '../src/pg/embedded.js';

let server: EmbeddedServer | null = null;
let dir = '';

/**
 * One embedded PostgreSQL 18 for the whole run: its own temp data dir and free port. It runs
 * detached from this process (pg_ctl) with a watchdog, so even a killed test run leaves no server;
 * nothing here installs exit hooks that could change the runner's exit code.
 */
export async function setup(project: TestProject): Promise<void> {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-test-'));
  await fs.chmod(dir, 0o755);
  server = await startEmbedded(path.join(dir, 'embedded'));
  const url = server.target('postgres').config;
  project.provide('embeddedUrl', `postgres://${url.user}:${encodeURIComponent(String(url.password))}@127.0.0.1:${server.port}/postgres`);
}

export async function teardown(): Promise<void> {
  if (server && process.env.PGHARDEN_SERVER_CPU_LOG) logServerCpu(server.dataDir, process.env.PGHARDEN_SERVER_CPU_LOG);
  await server?.stop();
  // Retried: the server's watchdog may still be removing its pid file as it exits.
  if (dir) await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}

/**
 * For bench/suite-cpu.mjs: the embedded server runs detached, so `time` does not count it. Its CPU is the
 * postmaster's own plus its reaped children's (exited backends) plus its live children's, in seconds.
 */
function logServerCpu(dataDir: string, file: string): void {
  const ticks = (pid: string, withChildren: boolean) => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the name start at field 3 (state): utime=14, stime=15, cutime=16, cstime=17.
    return Number(f[11]) + Number(f[12]) + (withChildren ? Number(f[13]) + Number(f[14]) : 0);
  };
  try {
    const pid = readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
    const children = readdirSync(`/proc/${pid}/task`).flatMap((t) =>
      readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
    );
    let total = ticks(pid, true);
    for (const c of children)
      try {
        total += ticks(c, false);
      } catch {
        /* exited meanwhile */
      }
    appendFileSync(file, `${(total / 100).toFixed(2)}\n`);
  } catch (err) {
    appendFileSync(file, `error ${(err as Error).message}\n`);
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedUrl: string;
  }
}
