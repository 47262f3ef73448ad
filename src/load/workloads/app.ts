import { ACCOUNTS_PER_SCALE, BENCH_SCHEMA, constant, uniform, type Workload, type WorkloadOptions } from './types.js';

/**
 * What a service looks like to the database: mostly short reads and writes, now and then a
 * transaction that thinks between statements (idle in transaction), and a small share of
 * slow statements of about `slowMs`: set it past statement_timeout, or `thinkMs` past
 * idle_in_transaction_session_timeout, to see the limits bite under load.
 */
export function appWorkload(o: WorkloadOptions): Workload {
  const account = uniform(o.scale * ACCOUNTS_PER_SCALE);
  const amount = () => Math.floor(Math.random() * 201) - 100;
  return {
    name: 'app',
    statements: [
      { name: 'app_read', sql: `SELECT aid, bid, abalance FROM ${BENCH_SCHEMA}.pgbench_accounts WHERE aid = $1`, params: 1 },
      { name: 'app_write', sql: `UPDATE ${BENCH_SCHEMA}.pgbench_accounts SET abalance = abalance + $2 WHERE aid = $1`, params: 2 },
      { name: 'app_begin', sql: 'BEGIN', params: 0 },
      { name: 'app_commit', sql: 'COMMIT', params: 0 },
      { name: 'app_slow', sql: 'SELECT pg_sleep($1::int / 1000.0)', params: 1 },
    ],
    transactions: [
      { name: 'read', weight: 60, roundTrips: [{ steps: [{ step: 'read.select', statement: 'app_read', params: [account] }] }] },
      { name: 'write', weight: 25, roundTrips: [{ steps: [{ step: 'write.update', statement: 'app_write', params: [account, amount] }] }] },
      {
        name: 'think',
        weight: 10,
        roundTrips: [
          {
            steps: [
              { step: 'think.begin', statement: 'app_begin', params: [] },
              { step: 'think.select', statement: 'app_read', params: [account] },
            ],
          },
          {
            thinkMs: o.thinkMs,
            thinkStep: 'think.idle',
            steps: [
              { step: 'think.update', statement: 'app_write', params: [account, amount] },
              { step: 'think.commit', statement: 'app_commit', params: [] },
            ],
          },
        ],
      },
      {
        name: 'slow',
        weight: 5,
        roundTrips: [{ steps: [{ step: 'slow.statement', statement: 'app_slow', params: [constant(o.slowMs)] }] }],
      },
    ],
  };
}
