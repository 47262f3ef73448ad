import fs from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { readPlan } from '../../preflight/preflight.js';
import { blockedError } from '../../apply/apply.js';
import { renderMigration } from '../../plan/render-sql.js';
import { runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  program
    .command('render')
    .description('write the plan as psql migration files (forward and rollback)')
    .option('--out <dir>', 'folder for the files', 'migration/migrations')
    .option('--name <name>', 'file name stem', '009_security_hardening')
    .addHelpText('after', `
For teams that apply with psql: writes <name>.sql and <name>_rollback.sql. The rollback
restores the values captured from the database now, not assumed defaults.`)
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions & { out: string; name: string }>();
      await runCommand(opts, async ({ ctx, client }) => {
        const { plan } = await readPlan(ctx, client);
        if (plan.blocked) throw blockedError(plan);
        const rendered = renderMigration(plan, ctx.policy, opts.name);
        await fs.mkdir(opts.out, { recursive: true });
        const files = { forward: path.join(opts.out, `${opts.name}.sql`), rollback: path.join(opts.out, `${opts.name}_rollback.sql`) };
        await fs.writeFile(files.forward, rendered.forward);
        await fs.writeFile(files.rollback, rendered.rollback);
        return { ok: true, runId: null, database: plan.database, files, operations: plan.operations.length };
      }, (r, { log }) => log.info(`wrote ${r.files.forward} and ${r.files.rollback} (${r.operations} change(s) for ${r.database})`));
    });
}
