import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { readPlan } from '../../plan/read-plan.js';
import { blockedError } from '../../apply/apply.js';
import { BlockedError } from '../../errors.js';
import { renderMigration } from '../../plan/render-sql.js';
import { runCommand, type GlobalOptions } from '../session.js';
import { lineDiff } from '../text-diff.js';

export function register(program: Command): void {
  program
    .command('render')
    .description('write the plan as psql migration files (forward and rollback)')
    .option('-o, --out <dir>', 'folder for the files', 'migration/migrations')
    .option('--name <name>', 'file name stem', '009_security_hardening')
    .option('--force', 'overwrite files that exist and differ from what would be written')
    .addHelpText(
      'after',
      `
For teams that apply with psql: writes <name>.sql and <name>_rollback.sql. The rollback
restores the values captured from the database now, not assumed defaults.
A file that exists with other content (a committed migration) is not overwritten: the
command shows the difference and exits 4, unless --force. Identical files are left alone.`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { out: string; name: string; force?: boolean }>();
      await runCommand(
        opts,
        async ({ ctx, client }) => {
          const { plan } = await readPlan(ctx, client);
          if (plan.blocked) throw blockedError(plan);
          const rendered = renderMigration(plan, ctx.policy, opts.name);
          await fs.mkdir(opts.out, { recursive: true });
          const files = { forward: path.join(opts.out, `${opts.name}.sql`), rollback: path.join(opts.out, `${opts.name}_rollback.sql`) };
          const writes: [string, string][] = [
            [files.forward, rendered.forward],
            [files.rollback, rendered.rollback],
          ];
          const differing = await differingFiles(writes);
          if (differing.length && !opts.force) {
            throw new BlockedError(
              `not overwriting ${differing.map((d) => d.file).join(' and ')}: it differs from what render would write now (--force overwrites):\n` +
                differing.map((d) => `--- ${d.file} (on disk)\n+++ rendered now\n${d.diff.join('\n')}`).join('\n'),
            ).withDetails({ differing: differing.map((d) => d.file) });
          }
          for (const [file, text] of writes) await fs.writeFile(file, text);
          return {
            ok: true,
            runId: null,
            database: plan.database,
            files,
            operations: plan.operations.length,
            overwritten: differing.map((d) => d.file),
          };
        },
        (r, { log }) => log.info(`wrote ${r.files.forward} and ${r.files.rollback} (${r.operations} change(s) for ${r.database})`),
      );
    });
}

/** Files that exist with other content than `text`, with the line diff to show. */
async function differingFiles(writes: [string, string][]): Promise<{ file: string; diff: string[] }[]> {
  const out: { file: string; diff: string[] }[] = [];
  for (const [file, text] of writes) {
    const before = await fs.readFile(file, 'utf8').catch(() => null);
    if (before !== null && before !== text) out.push({ file, diff: lineDiff(before, text).filter((l) => !l.startsWith('  ')) });
  }
  return out;
}
