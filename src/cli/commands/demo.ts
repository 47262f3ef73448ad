import type { Command } from 'commander';
import { apply } from '../../apply/apply.js';
import { rollback } from '../../apply/rollback.js';
import { UsageError } from '../../errors.js';
import type { Log } from '../../log.js';
import { connect, withClient, type Client } from '../../pg/client.js';
import type { EmbeddedServer } from '../../pg/embedded.js';
import { quoteIdent } from '../../pg/quote.js';
import { formatDuration } from '../../policy/duration.js';
import { loadPolicy } from '../../policy/load.js';
import { readPlan } from '../../plan/read-plan.js';
import { planData } from '../../plan/plan.js';
import type { StageContext } from '../../stage.js';
import { verify } from '../../verify/verify.js';
import { renderChecks, renderPlan } from '../render.js';
import { EMBEDDED_DATABASE, embeddedTarget, runOffline, type GlobalOptions } from '../session.js';
import { paint } from '../table.js';

const DEMO_ROLE = 'reporting_demo';

/** A little of what a real codex_memory has: a table, some traffic, a prior DBA setting, a reporting role. */
async function seed(client: Client): Promise<void> {
  await client.query(
    `CREATE TABLE IF NOT EXISTS memories (id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz DEFAULT now())`,
  );
  await client.query(`INSERT INTO memories (body) SELECT md5(g::text) FROM generate_series(1, 2000) g`);
  for (let i = 0; i < 50; i++) await client.query('SELECT count(*) FROM memories WHERE body LIKE $1', [`${i % 10}%`]);
  await client.query(
    `DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '${DEMO_ROLE}') THEN CREATE ROLE ${DEMO_ROLE} LOGIN; END IF; END $$`,
  );
  // A value set by hand before pgharden: rollback must restore it, not RESET it.
  await client.query(`ALTER DATABASE ${quoteIdent(EMBEDDED_DATABASE)} SET work_mem = '64MB'`);
}

async function step<T>(log: Log, title: string, fn: () => Promise<T>): Promise<T> {
  log.info(`\n${paint.dim('──')} ${title}`);
  const t = performance.now();
  const result = await fn();
  log.info(paint.dim(`   (${formatDuration(performance.now() - t)})`));
  return result;
}

export async function demo(opts: GlobalOptions): Promise<void> {
  await runOffline(
    opts,
    ({ log }) => demoSteps(opts, log),
    (r, { log }) => {
      log.info(
        `\n${r.ok ? paint.ok('demo complete') : paint.bad('demo FAILED')}: plan → apply → verify → rollback on embedded PostgreSQL in ${r.seconds.toFixed(1)}s.`,
      );
      log.info('Next: point it at your own server, e.g. `pgharden plan --db postgres://admin@db.example:5432/codex_memory`.');
    },
  );
}

async function demoSteps(opts: GlobalOptions, log: Log) {
  const started = performance.now();
  let server: EmbeddedServer | null = null;
  let client: Client | null = null;
  try {
    if (opts.db)
      throw new UsageError(
        'demo always runs on the embedded PostgreSQL (it seeds and changes its own database): drop --db, or use `pgharden run --db …` on your server',
      );
    const policy = await loadPolicy(opts.policy);
    const embedded = await embeddedTarget(log, EMBEDDED_DATABASE, 'demo');
    server = embedded.server;
    const ctx: StageContext = { target: embedded.target, policy, log };
    client = await connect(ctx.target, { onError: (e) => log.warn(e.message) });
    const db = client;

    await step(log, `seed ${EMBEDDED_DATABASE}: a table, 2,000 rows, 50 queries, role ${DEMO_ROLE}, work_mem = 64MB set by hand`, () =>
      seed(db),
    );
    const { plan } = await step(log, 'plan: what will change, and how to undo it', () => readPlan(ctx, db));
    renderPlan(log, planData(plan));
    const applied = await step(log, 'apply: baseline, backup, then one journaled transaction per change', () =>
      apply(ctx, db, { lockWaitMs: 10_000 }),
    );
    log.info(`   ${applied.steps.length} change(s) applied in run ${applied.runId}; backup in ${applied.backupFile}`);
    const good = await step(log, 'verify: fresh session + every login role', () => verify(ctx, db));
    renderChecks(log, good.checks);

    const caught = await step(
      log,
      `what verify catches: ALTER ROLE ${DEMO_ROLE} IN DATABASE ${EMBEDDED_DATABASE} SET statement_timeout = 0`,
      async () => {
        const sql = (verb: string) => `ALTER ROLE ${DEMO_ROLE} IN DATABASE ${quoteIdent(EMBEDDED_DATABASE)} ${verb}`;
        await db.query(sql('SET statement_timeout = 0'));
        try {
          return await verify(ctx, db);
        } finally {
          await db.query(sql('RESET statement_timeout'));
        }
      },
    );
    renderChecks(
      log,
      caught.checks.filter((c) => !c.ok),
    );
    log.info(`   → verify ${caught.ok ? 'passed (unexpected!)' : 'failed and named the role, as it must'}; the override was removed again`);

    const rolled = await step(log, 'rollback: restore exactly the captured values, then compare with the backup', () =>
      rollback(ctx, db, { lockWaitMs: 10_000 }),
    );
    for (const s of rolled.steps) log.info(`   ✔ ${s.sql}`);
    log.info(`   ${rolled.message}`);
    const workMem = await withClient(ctx.target, async (c) => (await c.query('SHOW work_mem')).rows[0].work_mem as string, { raw: true });
    log.info(`   a new session gets work_mem = ${workMem} again (the value set by hand before pgharden)`);

    const seconds = (performance.now() - started) / 1000;
    const ok = good.ok && !caught.ok && rolled.ok;
    return {
      ok,
      runId: applied.runId,
      seconds: Math.round(seconds * 10) / 10,
      applied: applied.steps.length,
      verified: good.ok,
      overrideCaught: !caught.ok,
      rolledBack: rolled.ok,
    };
  } finally {
    await client?.end().catch(() => undefined);
    await server?.stop().catch(() => undefined);
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('the whole story on the embedded PostgreSQL: plan → apply → verify → rollback')
    .action(async (_o, cmd: Command) => demo(cmd.optsWithGlobals<GlobalOptions>()));
}
