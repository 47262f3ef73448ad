import type { Command } from 'commander';
import { ExitCode } from '../../errors.js';
import { DEFAULT_EMBEDDED_DIR, embeddedStatus, stopEmbedded } from '../../pg/embedded.js';
import { fail, type GlobalOptions } from '../session.js';

function status(opts: GlobalOptions): void {
  const s = embeddedStatus(DEFAULT_EMBEDDED_DIR);
  if (opts.json) process.stdout.write(JSON.stringify({ ok: true, ...s }, null, 2) + '\n');
  const lines = [
    `embedded PostgreSQL in ${s.root}${s.relocated ? ` (${s.relocated})` : ''}`,
    s.running
      ? `  running: pid ${s.running.pid}, 127.0.0.1:${s.running.port}`
      : `  not running${s.initialised ? '' : ' (not initialised yet)'}`,
    s.running
      ? `  used by: ${s.owners.length ? s.owners.map((p) => `pid ${p}`).join(', ') : 'no live pgharden process (the watchdog stops it within a second or two)'}`
      : null,
  ];
  (opts.json ? process.stderr : process.stdout).write(lines.filter(Boolean).join('\n') + '\n');
}

async function stop(opts: GlobalOptions): Promise<void> {
  const wasRunning = await stopEmbedded(DEFAULT_EMBEDDED_DIR);
  if (opts.json) process.stdout.write(JSON.stringify({ ok: true, stopped: wasRunning }) + '\n');
  (opts.json ? process.stderr : process.stdout).write(
    wasRunning ? 'embedded PostgreSQL stopped\n' : 'embedded PostgreSQL was not running\n',
  );
}

export function register(program: Command): void {
  const embedded = program
    .command('embedded')
    .description('see or stop the embedded PostgreSQL that --embedded, demo and a terminal without --db use');
  embedded
    .command('status')
    .description('where its files are, whether it runs, and which pgharden processes use it')
    .action((_o, cmd: Command) => {
      try {
        status(cmd.optsWithGlobals<GlobalOptions>());
        process.exitCode = ExitCode.ok;
      } catch (err) {
        fail(err, Boolean(cmd.optsWithGlobals<GlobalOptions>().json));
      }
    });
  embedded
    .command('stop')
    .description('stop it now, even while a pgharden process uses it (data is kept)')
    .action(async (_o, cmd: Command) =>
      stop(cmd.optsWithGlobals<GlobalOptions>()).catch((err) => fail(err, Boolean(cmd.optsWithGlobals<GlobalOptions>().json))),
    );
  embedded.addHelpText(
    'after',
    `
A server started by a command is stopped when the last pgharden process using it ends; a
watchdog stops it too when those processes were killed. Data is kept in ${DEFAULT_EMBEDDED_DIR}/
(as root, under the system temp directory when the OS user postgres cannot enter the project).`,
  );
}
