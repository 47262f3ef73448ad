import type { Command } from 'commander';
import { ExitCode, PolicyError } from '../../errors.js';
import { consoleLog } from '../../log.js';
import { planData } from '../../plan/plan.js';
import { wantsEmbedded } from '../../pg/target.js';
import { policyJsonSchema } from '../../policy/json-schema.js';
import { loadPolicy } from '../../policy/load.js';
import { offlineProblems } from '../../policy/offline-check.js';
import { readPlan } from '../../plan/read-plan.js';
import { renderFindings } from '../render.js';
import { fail, runCommand, type GlobalOptions } from '../session.js';

export function register(program: Command): void {
  const policy = program.command('policy').description('write and check policy files: the JSON Schema for editors, and validation');
  policy
    .command('schema')
    .description('print the JSON Schema of a policy file (committed as policies/policy.schema.json)')
    .option('--project', 'the JSON Schema of the project file pgharden.yaml instead (policies/project.schema.json)')
    .addHelpText(
      'after',
      `
Point an editor at it with a first line in the policy:
  # yaml-language-server: $schema=./policy.schema.json`,
    )
    .action(async (o: { project?: boolean }) => {
      const schema = o.project ? (await import('../../project/schema.js')).projectJsonSchema() : policyJsonSchema();
      process.stdout.write(JSON.stringify(schema, null, 2) + '\n');
    });
  policy
    .command('validate')
    .description('check a policy: offline its shape and parameter names; with a server (--db…) every value against pg_settings')
    .argument('[file]', 'the policy file (default: --policy)')
    .addHelpText(
      'after',
      `
Exit 0 valid, 2 invalid (each problem named, with "did you mean" for a misspelt name),
4 the server would refuse it (blocking findings, with a server), 3 cannot connect.
Connected when a server is named (--db, DATABASE_URL, PG* variables) or --embedded.`,
    )
    .action(async (file: string | undefined, _o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<GlobalOptions>();
      const source = file ?? opts.policy;
      const connected = !wantsEmbedded(opts.db) || opts.embedded || process.env.PGHARDEN_EMBEDDED === '1';
      if (connected) {
        await runCommand(
          { ...opts, policy: source },
          async ({ ctx, client }) => {
            const { plan } = await readPlan(ctx, client);
            const data = planData(plan);
            return {
              ok: !plan.blocked,
              exitCode: plan.blocked ? ExitCode.blocked : ExitCode.ok,
              connected: true,
              source,
              database: data.database,
              findings: data.findings,
            };
          },
          (r, { log }) => {
            log.info(`policy ${r.source} against database ${r.database}: ${r.ok ? 'valid' : 'the server would refuse it'}`);
            renderFindings(log, r.findings);
          },
        );
        return;
      }
      const json = Boolean(opts.json);
      try {
        const parsed = await loadPolicy(source);
        const problems = offlineProblems(parsed);
        if (problems.length) throw new PolicyError(`policy ${source} is invalid:\n  ${problems.join('\n  ')}`, problems);
        if (json) process.stdout.write(JSON.stringify({ ok: true, connected: false, source }, null, 2) + '\n');
        consoleLog(json).info(
          `policy ${source}: valid offline (shape and parameter names; values and units are checked against a server with --db)`,
        );
      } catch (err) {
        fail(err, json);
      }
    });
}
