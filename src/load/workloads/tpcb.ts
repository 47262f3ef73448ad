import {
  ACCOUNTS_PER_SCALE,
  BENCH_SCHEMA,
  TELLERS_PER_SCALE,
  uniform,
  type StatementDef,
  type Workload,
  type WorkloadOptions,
} from './types.js';

/** pgbench's TPC-B-like statements (its built-in default script). */
export const TPCB_STATEMENTS: StatementDef[] = [
  { name: 'tpcb_update_account', sql: `UPDATE ${BENCH_SCHEMA}.pgbench_accounts SET abalance = abalance + $2 WHERE aid = $1`, params: 2 },
  { name: 'tpcb_select_account', sql: `SELECT abalance FROM ${BENCH_SCHEMA}.pgbench_accounts WHERE aid = $1`, params: 1 },
  { name: 'tpcb_update_teller', sql: `UPDATE ${BENCH_SCHEMA}.pgbench_tellers SET tbalance = tbalance + $2 WHERE tid = $1`, params: 2 },
  { name: 'tpcb_update_branch', sql: `UPDATE ${BENCH_SCHEMA}.pgbench_branches SET bbalance = bbalance + $2 WHERE bid = $1`, params: 2 },
  {
    name: 'tpcb_insert_history',
    sql: `INSERT INTO ${BENCH_SCHEMA}.pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP)`,
    params: 4,
  },
];

/**
 * The pgbench TPC-B-like transaction. Its five statements go in one round trip ended by one Sync:
 * the extended protocol runs them as one implicit transaction (atomic, rolled back on any error),
 * like pgbench's pipeline mode, without BEGIN/END round trips.
 */
export function tpcbWorkload(o: WorkloadOptions): Workload {
  // Every step of one transaction must use the same account, teller, branch and delta.
  let aid = 1,
    tid = 1,
    bid = 1,
    delta = 0;
  const aids = uniform(o.scale * ACCOUNTS_PER_SCALE),
    tids = uniform(o.scale * TELLERS_PER_SCALE),
    bids = uniform(o.scale);
  const draw = () => {
    aid = aids();
    tid = tids();
    bid = bids();
    delta = Math.floor(Math.random() * 10_001) - 5000;
    return aid;
  };
  return {
    name: 'tpcb',
    statements: TPCB_STATEMENTS,
    transactions: [
      {
        name: 'tpcb',
        weight: 1,
        roundTrips: [
          {
            steps: [
              { step: 'tpcb.update_account', statement: 'tpcb_update_account', params: [draw, () => delta] },
              { step: 'tpcb.select_account', statement: 'tpcb_select_account', params: [() => aid] },
              { step: 'tpcb.update_teller', statement: 'tpcb_update_teller', params: [() => tid, () => delta] },
              { step: 'tpcb.update_branch', statement: 'tpcb_update_branch', params: [() => bid, () => delta] },
              { step: 'tpcb.insert_history', statement: 'tpcb_insert_history', params: [() => tid, () => bid, () => aid, () => delta] },
            ],
          },
        ],
      },
    ],
  };
}
