import { ACCOUNTS_PER_SCALE, BENCH_SCHEMA, uniform, type Workload, type WorkloadOptions } from './types.js';

/** pgbench -S: one primary-key read of a random account. */
export function selectWorkload(o: WorkloadOptions): Workload {
  return {
    name: 'select',
    statements: [{ name: 'select_account', sql: `SELECT abalance FROM ${BENCH_SCHEMA}.pgbench_accounts WHERE aid = $1`, params: 1 }],
    transactions: [
      {
        name: 'select',
        weight: 1,
        roundTrips: [{ steps: [{ step: 'select.account', statement: 'select_account', params: [uniform(o.scale * ACCOUNTS_PER_SCALE)] }] }],
      },
    ],
  };
}
