/** A prepared statement of a workload; every parameter is an int4. */
export interface StatementDef {
  name: string;
  sql: string;
  params: number;
}

/** One statement execution inside a round trip, with how to draw its parameter values. */
export interface StepDef {
  /** Label for error accounting: `<transaction>.<step>`. */
  step: string;
  statement: string;
  params: (() => number)[];
}

/** Steps sent together and ended by one Sync; `thinkMs` is idle time before sending (inside an open transaction). */
export interface RoundTripDef {
  thinkMs?: number;
  /** Label for errors that arrive while thinking (25P03: the server ended an idle transaction). */
  thinkStep?: string;
  /** Runs just before the parameters are drawn (a script's \set commands). */
  prepare?: () => void;
  steps: StepDef[];
}

export interface TransactionDef {
  name: string;
  /** Relative frequency among the workload's transactions. */
  weight: number;
  roundTrips: RoundTripDef[];
}

export interface WorkloadOptions {
  scale: number;
  /** app: duration of the slow statements (ms). */
  slowMs: number;
  /** app: think time inside the thinking transaction (ms). */
  thinkMs: number;
}

export interface Workload {
  name: WorkloadName;
  statements: StatementDef[];
  transactions: TransactionDef[];
}

export const WORKLOADS = ['select', 'tpcb', 'app'] as const;
/** `script`: the user's own pgbench-style scripts (loadtest --script). */
export type WorkloadName = (typeof WORKLOADS)[number] | 'script';

/** Our own schema, so pgbench's tables of the same names elsewhere are never touched. */
export const BENCH_SCHEMA = 'pgharden_bench';

/** pgbench's sizes: 100,000 accounts, 10 tellers and 1 branch per unit of scale. */
export const ACCOUNTS_PER_SCALE = 100_000;
export const TELLERS_PER_SCALE = 10;

/** A uniform draw in 1..n, as pgbench's random(1, n). */
export const uniform = (n: number) => () => 1 + Math.floor(Math.random() * n);
export const constant = (v: number) => () => v;
