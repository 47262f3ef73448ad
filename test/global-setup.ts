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
  await server?.stop();
  // Retried: the server's watchdog may still be removing its pid file as it exits.
  if (dir) await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
}

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedUrl: string;
  }
}
