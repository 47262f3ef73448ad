#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ExitCode } from '../errors.js';
import * as alerts from './commands/alerts.js';
import * as apply from './commands/apply.js';
import * as approve from './commands/approve.js';
import * as demo from './commands/demo.js';
import * as diagnose from './commands/diagnose.js';
import * as doctor from './commands/doctor.js';
import * as embedded from './commands/embedded.js';
import * as guard from './commands/guard.js';
import * as loadtest from './commands/loadtest.js';
import * as migrate from './commands/migrate.js';
import * as monitor from './commands/monitor.js';
import * as plan from './commands/plan.js';
import * as preflight from './commands/preflight.js';
import * as render from './commands/render.js';
import * as report from './commands/report.js';
import * as rollback from './commands/rollback.js';
import * as run from './commands/run.js';
import * as status from './commands/status.js';
import * as verify from './commands/verify.js';

// `pgharden status | head`: a closed pipe is not an error; finish normally so servers we started get stopped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

const program = new Command('pgharden')
  .description('Apply the security-hardening runbook to a PostgreSQL database: plan, baseline, backup, apply, verify, roll back.')
  .option('--db <url>', 'connection URL or conninfo (else DATABASE_URL, else PGHOST/PGUSER/PGSERVICE/… and ~/.pgpass)')
  .option('--env <name>', "an environment of the policy's environments: (its db and its rules, e.g. approval: required)")
  .option('--embedded', 'use the embedded PostgreSQL 18 in .pgharden/embedded (also PGHARDEN_EMBEDDED=1; on a terminal, the default when no server is named)')
  .option('--policy <file>', 'policy YAML file, or a built-in name', 'ticket-010')
  .option('--json', 'one JSON document on stdout; human text on stderr')
  .option('--yes', 'do not ask for confirmation')
  .addHelpText('after', `
Typical session:
  pgharden plan --db postgres://admin@db:5432/codex_memory     what would change, and the rollback SQL
  pgharden preflight                                           findings + baseline
  pgharden apply --approved-by "Jane DBA"                       backup, then the changes
  pgharden verify                                              prove it for new sessions and every role
  pgharden rollback                                            restore exactly what was there

Exit codes: 0 ok · 1 a check failed · 2 bad usage or policy (nothing changed)
            3 cannot connect or the database refused · 4 blocked by preflight (nothing changed)`)
  .exitOverride()
  .showHelpAfterError();

for (const command of [plan, preflight, apply, approve, verify, rollback, status, run, guard, report, monitor, loadtest, diagnose, alerts, render, migrate, demo, embedded, doctor]) command.register(program);

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; every other commander error is bad usage.
    process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  } else throw err;
}
// Exit explicitly with the code decided above: a lingering handle (a socket, a timer) must not keep a
// finished command alive. But only once stdout and stderr are flushed: on a pipe their writes are
// asynchronous, and exiting at once cut large --json documents short.
const code = process.exitCode ?? ExitCode.ok;
const flushed = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => (stream.writableLength ? stream.write('', () => resolve()) : resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
