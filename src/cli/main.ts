#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ExitCode, PghardenError } from '../errors.js';
import { readFileSync } from 'node:fs';
import { COMMANDS, commandNamed } from './commands/index.js';
import { addExitCodesHelp } from './exit-help.js';

// `pgharden status | head`: a closed pipe is not an error; finish normally so servers we started get stopped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

// Read at run time (not imported as JSON): the one file that knows the version, in the tarball too.
const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('pgharden')
  .version(version, '-V, --version', 'print the version and exit')
  // Every command's --help lists --db, --policy, --json… too; an unknown option is one line with
  // commander's "(Did you mean …?)", not the whole help.
  .configureHelp({ showGlobalOptions: true })
  .showSuggestionAfterError(true)
  .description('Apply the security-hardening runbook to a PostgreSQL database: plan, baseline, backup, apply, verify, roll back.')
  .option('--db <url>', 'connection URL or conninfo (else DATABASE_URL, else PGHOST/PGUSER/PGSERVICE/… and ~/.pgpass)')
  .option('--env <name>', "an environment of the policy's environments: (its db and its rules, e.g. approval: required)")
  .option(
    '--embedded',
    'use the embedded PostgreSQL 18 in .pgharden/embedded (also PGHARDEN_EMBEDDED=1; on a terminal, the default when no server is named)',
  )
  .option('--policy <file>', 'policy YAML file, or a built-in name', 'ticket-010')
  .option('--json', 'one JSON document on stdout; human text on stderr')
  .option('--yes', 'do not ask for confirmation')
  .option('--verbose', "say more: which project file (pgharden.yaml) and which of its defaults were used; verify: every role's value")
  .addHelpText(
    'after',
    `
Typical session:
  pgharden plan --db postgres://admin@db:5432/codex_memory     what would change, and the rollback SQL
  pgharden preflight                                           findings + baseline
  pgharden apply --approved-by "Jane DBA"                       backup, then the changes
  pgharden verify                                              prove it for new sessions and every role
  pgharden rollback                                            restore exactly what was there

Exit codes: 0 ok · 1 a check failed or drift found · 2 bad usage or policy (nothing changed)
            3 cannot connect (retryable) · 4 blocked: preflight, lint, lock (nothing changed)
            5 the database refused a statement · 70 internal error (a bug; PGHARDEN_DEBUG=1
            prints the stack) · 130 interrupted. monitor --once and verify --once: Nagios 0/1/2/3.`,
  )
  .exitOverride()
  // pgharden.yaml (found from here upward) fills in what no flag or environment variable says.
  .hook('preAction', async (_program, action) => (await import('./project.js')).applyProject(program, action));

// Load only the command being run; the others are one-line entries for --help and "did you mean".
const named = commandNamed(process.argv.slice(2));
for (const entry of COMMANDS) {
  if (entry === named) {
    (await entry.load()).register(program);
    addExitCodesHelp(program.commands.at(-1)!);
  } else program.command(entry.name).description(entry.summary);
}

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CommanderError) {
    // --help and --version exit 0; every other commander error is bad usage.
    process.exitCode = err.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
  } else if (err instanceof PghardenError) {
    // A malformed project file (the preAction hook): exit 2 before the command ran.
    (await import('./session.js')).fail(err, Boolean(program.opts().json));
  } else throw err;
}
// Exit explicitly with the code decided above: a lingering handle (a socket, a timer) must not keep a
// finished command alive. But only once stdout and stderr are flushed: on a pipe their writes are
// asynchronous, and exiting at once cut large --json documents short.
const code = process.exitCode ?? ExitCode.ok;
const flushed = (stream: NodeJS.WriteStream) =>
  new Promise<void>((resolve) => (stream.writableLength ? stream.write('', () => resolve()) : resolve()));
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
