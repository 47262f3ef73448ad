#!/usr/bin/env node
/**
 * npm run bench:faults [-- --db postgres://postgres@127.0.0.1:5432/postgres] [--commands apply,rollback,run]
 *
 * Prints the crash-injection table: for every journaled step of apply, rollback and run, the
 * process is SIGKILLed right after the step commits; then what `status` names, the command run to
 * recover, and whether the database converged to the exact expected state. Ends with the share of
 * injection points that converged. Without --db it uses a throwaway embedded PostgreSQL 18.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startEmbedded } from '../dist/pg/embedded.js';
import { faultMatrix, writePolicy } from './fault-matrix.mjs';

const { values: o } = parseArgs({
  options: {
    db: { type: 'string' },
    commands: { type: 'string', default: 'apply,rollback,run' },
    parallel: { type: 'string', default: '3' },
  },
});
let embedded = null;
let dir = null;
let url = o.db;
if (!url) {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pgharden-bench-faults-'));
  embedded = await startEmbedded(path.join(dir, 'embedded'));
  const c = embedded.target('postgres').config;
  url = `postgres://${c.user}:${encodeURIComponent(String(c.password))}@127.0.0.1:${embedded.port}/postgres`;
}
try {
  console.log(`${'command'.padEnd(9)}${'injection point'.padEnd(42)}${'process'.padEnd(8)}${'status names'.padEnd(72)}recovery`);
  const results = await faultMatrix(url, {
    commands: o.commands.split(','),
    policyFile: await writePolicy(),
    limit: Number(o.parallel),
    onResult: (r) =>
      console.log(
        `${r.command.padEnd(9)}${r.point.padEnd(42)}${(r.killed ? 'killed' : 'ALIVE').padEnd(8)}${r.named.slice(0, 70).padEnd(72)}${r.via}: ${r.converged ? 'exact' : 'DIFFERS'}`,
      ),
  });
  const ok = results.filter((r) => r.killed && r.converged).length;
  console.log(
    `\n${ok} of ${results.length} injection points converged to the exact expected state (${((100 * ok) / results.length).toFixed(0)} %)`,
  );
  process.exitCode = ok === results.length ? 0 : 1;
} finally {
  await embedded?.stop();
  if (dir) await fs.rm(dir, { recursive: true, force: true, maxRetries: 5 });
}
