import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbedded, type EmbeddedServer } from '../src/pg/embedded.js';

let server: EmbeddedServer | null = null;
let dir = '';

/** One embedded PostgreSQL 18 for the whole run: its own temp data dir and free port. */
export async function setup(project: TestProject): Promise<void> {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-test-'));
  await fs.chmod(dir, 0o755);
  server = await startEmbedded(dir);
  const url = server.target('postgres').config;
  project.provide('embeddedUrl', `postgres://${url.user}:${encodeURIComponent(String(url.password))}@127.0.0.1:${server.port}/postgres`);
}

export async function teardown(): Promise<void> {
  await server?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedUrl: string;
  }
}
