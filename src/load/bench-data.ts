import { inTransaction, type Client } from '../pg/client.js';
import { ACCOUNTS_PER_SCALE, BENCH_SCHEMA, TELLERS_PER_SCALE } from './workloads/types.js';
import { ADVISORY_LOCKS } from '../pg/advisory-locks.js';

/** Serialises creating/filling the bench tables between concurrent loadtests. */
const BENCH_LOCK = ADVISORY_LOCKS.benchData;
const S = BENCH_SCHEMA;

/** pgbench's tables (same columns, keys and fill), in our own schema. */
const DDL = `
CREATE SCHEMA ${S};
COMMENT ON SCHEMA ${S} IS 'pgharden loadtest data (pgbench layout); remove with pgharden loadtest --drop';
CREATE TABLE ${S}.pgbench_branches (bid int NOT NULL PRIMARY KEY, bbalance int, filler char(88));
CREATE TABLE ${S}.pgbench_tellers (tid int NOT NULL PRIMARY KEY, bid int, tbalance int, filler char(84));
CREATE TABLE ${S}.pgbench_accounts (aid int NOT NULL PRIMARY KEY, bid int, abalance int, filler char(84));
CREATE TABLE ${S}.pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp, filler char(22));`;

const FILL = `
INSERT INTO ${S}.pgbench_branches (bid, bbalance) SELECT b, 0 FROM generate_series(1, $1::int) b;
INSERT INTO ${S}.pgbench_tellers (tid, bid, tbalance) SELECT t, (t - 1) / ${TELLERS_PER_SCALE} + 1, 0 FROM generate_series(1, $1::int * ${TELLERS_PER_SCALE}) t;
INSERT INTO ${S}.pgbench_accounts (aid, bid, abalance, filler) SELECT a, (a - 1) / ${ACCOUNTS_PER_SCALE} + 1, 0, '' FROM generate_series(1, $1::int * ${ACCOUNTS_PER_SCALE}) a;`;

/** The scale of the existing bench data (rows in pgbench_branches), or null when there is none. */
export async function benchScale(client: Client): Promise<number | null> {
  const { rows } = await client.query(`SELECT to_regclass($1) IS NOT NULL AS present`, [`${S}.pgbench_branches`]);
  if (!rows[0].present) return null;
  return (await client.query(`SELECT count(*)::int AS n FROM ${S}.pgbench_branches`)).rows[0].n;
}

/**
 * Make sure the bench tables exist at `scale` (default: what is there, else 1), creating and
 * filling them server-side like `pgbench -i -I dtGvp` when missing or of another scale.
 * Returns the scale in use and whether the data was (re)built.
 */
export async function ensureBenchData(client: Client, scale?: number): Promise<{ scale: number; built: boolean }> {
  const existing = await benchScale(client);
  if (existing !== null && (scale === undefined || scale === existing)) return { scale: existing, built: false };
  const wanted = scale ?? 1;
  await inTransaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [BENCH_LOCK]);
    if ((await benchScale(client)) === wanted) return; // another loadtest just built it
    // Filling a large scale outlasts the tool's usual statement_timeout; this transaction says so explicitly.
    await client.query(`SET LOCAL statement_timeout = '1h'`);
    await client.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`);
    await client.query(DDL);
    for (const statement of FILL.trim().split(';\n')) await client.query(statement.replace(/;$/, ''), [wanted]);
  });
  await client.query(`VACUUM ANALYZE ${S}.pgbench_branches, ${S}.pgbench_tellers, ${S}.pgbench_accounts, ${S}.pgbench_history`);
  return { scale: wanted, built: true };
}

export async function dropBenchData(client: Client): Promise<void> {
  await client.query(`DROP SCHEMA IF EXISTS ${S} CASCADE`);
}
