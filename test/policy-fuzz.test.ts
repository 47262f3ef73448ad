import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, blockedError } from '../src/apply/apply.js';
import { ExitCode, PghardenError } from '../src/errors.js';
import { silentLog } from '../src/log.js';
import { connect, type Client } from '../src/pg/client.js';
import { quoteIdent } from '../src/pg/quote.js';

import { parsePolicy } from '../src/policy/parse.js';
import type { Policy } from '../src/policy/schema.js';
import { readPlan } from '../src/plan/read-plan.js';
import { ROOT, runCli, snapshot, sql, targetFor, testServers, uniqueName, urlFor } from './helpers.js';

/**
 * Issue 10 "bad input": every policy of the generated corpus (scripts/gen-policy-fuzz.mjs) goes
 * through the real validation path — the policy loader, then readPlan against a real database
 * (catalog checks and the server's own verdict on each value) — and must end in exit 0, 2 or 4
 * with a readable message: never 1, 3, 5 or 70, never a stack trace, and the databases unchanged.
 * All 1,000 run in-process (a CLI process each would take minutes); a sample runs through the
 * CLI to prove the exit codes and messages a user sees are the same, and a subset through
 * apply to prove that a refused policy changes nothing and records no run.
 */
const CORPUS = path.join(ROOT, 'test/fixtures/policy-fuzz');
const DATABASES: string[] = JSON.parse(await fs.readFile(path.join(CORPUS, 'databases.json'), 'utf8'));
const FILES = (await fs.readdir(CORPUS)).filter((f) => f.endsWith('.yaml')).sort();

interface Outcome {
  file: string;
  code: number;
  message: string;
  reachedDatabase: boolean;
  policy?: Policy;
}

const ALLOWED = new Set<number>([ExitCode.ok, ExitCode.usage, ExitCode.blocked]);

/** What a user reads must be a message: no stack frames, no "internal error", lines of sane length. */
function unreadable(message: string): string | null {
  if (/internal error/i.test(message)) return 'says internal error';
  if (/\n\s+at .+(\(|:\d+:\d+)/.test(message)) return 'has a stack trace';
  if (message.split('\n').length > 40) return 'is longer than 40 lines';
  const wide = message.split('\n').find((l) => l.length > 1000);
  return wide ? `has a line of ${wide.length} characters` : null;
}

describe.each(testServers())('1,000 generated bad policies on $name PostgreSQL', (server) => {
  const db = uniqueName('fuzz');
  // One session per worker and database: readPlan holds a (rolled-back) transaction while it asks the server.
  const clients = new Map<string, Client>();
  const outcomes: Outcome[] = [];
  let before: unknown;

  const clientFor = async (database: string, worker = 0) => {
    const key = `${worker}/${database}`;
    if (!clients.has(key)) clients.set(key, await connect(targetFor(server, database)));
    return clients.get(key)!;
  };
  const ctxFor = (policy: Policy) => ({ target: targetFor(server, policy.database ?? db), policy, log: silentLog });

  /** Snapshot of everything a policy could have changed: settings, limits, journal, and the canary tables the SQL bits name. */
  const state = async () =>
    Promise.all(
      [db, ...DATABASES].map(async (d) => ({
        d,
        snap: await snapshot(server, d),
        tables: await sql(
          server,
          `SELECT to_regclass('public.x') IS NOT NULL AS x, to_regclass('pgharden.runs') IS NOT NULL AS journal`,
          [],
          d,
        ),
      })),
    );

  beforeAll(async () => {
    for (const d of [db, ...DATABASES]) {
      await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(d)} WITH (FORCE)`);
      await sql(server, `CREATE DATABASE ${quoteIdent(d)}`);
      await sql(server, 'CREATE TABLE public.x (id int)', [], d);
    }
    before = await state();
  });

  afterAll(async () => {
    for (const c of clients.values()) await c.end().catch(() => undefined);
    for (const d of [db, ...DATABASES]) await sql(server, `DROP DATABASE IF EXISTS ${quoteIdent(d)} WITH (FORCE)`);
  });

  it('every policy plans to exit 0, 2 or 4 with a readable message', async () => {
    outcomes.push(
      ...(await pool(FILES, 4, async (file, worker) => {
        const text = await fs.readFile(path.join(CORPUS, file), 'utf8');
        const outcome: Outcome = { file, code: -1, message: '', reachedDatabase: false };
        try {
          outcome.policy = parsePolicy(text, file);
          outcome.reachedDatabase = true;
          const { plan } = await readPlan(ctxFor(outcome.policy), await clientFor(outcome.policy.database ?? db, worker));
          outcome.code = plan.blocked ? ExitCode.blocked : ExitCode.ok;
          outcome.message = plan.blocked ? blockedError(plan).message : '';
        } catch (err) {
          outcome.code = err instanceof PghardenError ? err.exitCode : ExitCode.internal;
          outcome.message = err instanceof PghardenError ? err.message : `internal error: ${(err as Error).stack}`;
        }
        return outcome;
      })),
    );
    const bad = outcomes
      .map((o) => ({
        ...o,
        why: !ALLOWED.has(o.code) ? `exit ${o.code}` : o.code !== 0 ? (o.message.trim() ? unreadable(o.message) : 'no message') : null,
      }))
      .filter((o) => o.why)
      .map((o) => `${o.file}: ${o.why}: ${o.message.slice(0, 300)}`);
    expect(bad, bad.join('\n')).toEqual([]);

    // The corpus exercises every outcome, and the server's own checks, not only the YAML parser.
    const count = (code: number) => outcomes.filter((o) => o.code === code).length;
    expect(count(ExitCode.ok)).toBeGreaterThan(50);
    expect(count(ExitCode.usage)).toBeGreaterThan(400);
    expect(count(ExitCode.blocked)).toBeGreaterThan(50);
    expect(outcomes.filter((o) => /the server rejects/.test(o.message)).length).toBeGreaterThan(10);
    expect(outcomes.filter((o) => o.policy?.database).length).toBeGreaterThan(30);
    expect(await state()).toEqual(before);
  }, 120_000);

  it('apply refuses the refused ones without changing anything or recording a run', async () => {
    const refused = outcomes.filter((o) => o.reachedDatabase && o.code !== ExitCode.ok);
    expect(refused.length).toBeGreaterThan(50);
    const step = Math.floor(refused.length / 50);
    const subset = refused.filter((_, i) => i % step === 0).slice(0, 50);
    for (const o of subset) {
      const client = await clientFor(o.policy!.database ?? db);
      const err = await apply(ctxFor(o.policy!), client, { lockWaitMs: 5_000 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err, `${o.file} was applied`).toBeInstanceOf(PghardenError);
      expect((err as PghardenError).exitCode, o.file).toBe(o.code);
    }
    expect(await state()).toEqual(before);
  }, 60_000);

  it('the CLI gives a sample the same exit codes, with messages and no stack traces', async () => {
    // 12 per server (24 with the system server), one of each kind that reaches the database or the
    // parser's hard cases: a CLI process costs about 2 s on a busy machine.
    const kinds = [
      'sql-injection',
      'quoted-database',
      'server-checked',
      'anchors',
      'huge-negative',
      'unicode',
      'duplicate-key',
      'long-string',
      'bad-yaml',
      'list-value',
      'valid',
      'wrong-type',
    ];
    const sample = kinds.map((kind) => FILES.filter((f) => f.endsWith(`-${kind}.yaml`))[3]);
    const byFile = new Map(outcomes.map((o) => [o.file, o]));
    const results = await pool(sample, 4, async (file) => {
      const expected = byFile.get(file)!;
      // apply only where the policy is refused: a valid one would (rightly) change the database.
      const command = expected.code !== ExitCode.ok && sample.indexOf(file) % 2 === 0 ? ['apply', '--yes'] : ['plan'];
      const r = await runCli([...command, '--db', urlFor(server, db), '--policy', path.join(CORPUS, file)]);
      // Human text goes to stdout or stderr depending on the command: read both.
      return { file, command: command[0], expected: expected.code, code: r.code, stderr: r.stdout + r.stderr };
    });
    // Exit 2 and apply's exit 4 end in one `pgharden: …` message; plan's exit 4 is the plan itself, ending in "blocked".
    const said = (r: { code: number; stderr: string }) =>
      r.code === 0 ||
      (r.code === ExitCode.usage ? /^pgharden: policy /m : /^pgharden: blocked, nothing was changed|^blocked: apply would refuse/m).test(
        r.stderr,
      );
    const wrong = results.filter((r) => r.code !== r.expected || !said(r) || /internal error|\n\s+at .+:\d+:\d+/.test(r.stderr));
    expect(wrong.map((r) => `${r.file} (${r.command}): exit ${r.code}, expected ${r.expected}: ${r.stderr.slice(0, 300)}`)).toEqual([]);
    expect(results.some((r) => r.command === 'apply')).toBe(true);
    expect(await state()).toEqual(before);
  }, 120_000);
});

/** Run `fn` over `items`, `width` at a time, results in input order; `worker` says which of the `width` runs it. */
async function pool<T, R>(items: T[], width: number, fn: (item: T, worker: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async (_, worker) => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], worker);
      }
    }),
  );
  return out;
}
