import type { Target } from '../pg/target.js';
import type { LoadStats } from './stats.js';
import { bindExecute, parseErrorFields, queryMessage, syncMessage } from './wire/messages.js';
import { MSG, WireConnection } from './wire/connection.js';
import type { RoundTripDef, Workload } from './workloads/types.js';

/** A round trip encoded once per pipeline slot: Bind+Execute per step, then Sync; params patched in place. */
interface EncodedRoundTrip {
  def: RoundTripDef;
  slots: Buffer[];
  offsets: number[];
  generators: (() => number)[];
  steps: string[];
}

const READY_IDLE = 0x49; // 'I': no transaction open after this round trip
const ROLLBACK = queryMessage('ROLLBACK');
const SYNC = syncMessage();
const RETRY_CONNECT_MS = 100;

/** SQLSTATE of a failed login (pg errors and ConnectionError carry it as `code`); 08006 when the connection itself failed. */
export function loginSqlstate(err: unknown): string {
  const code = (err as { code?: string })?.code;
  return code && /^[0-9A-Z]{5}$/.test(code) ? code : '08006';
}

/** Login failures worth retrying under load (the limit may free up); anything else ends the run. */
export const RETRYABLE_LOGIN = new Set(['53300', '53400', '57P03', '08006', '08001']);

export interface LoopOptions {
  target: Target;
  /** Transactions kept in flight on this session (1 = like pgbench; more only for single-round-trip workloads). */
  pipeline: number;
  /** Open loop: this client's mean arrival rate (transactions per ms); closed loop when undefined. */
  ratePerMs?: number;
  appName: string;
}

/**
 * One simulated client: a session that runs the workload's transactions back to back (closed loop)
 * or at Poisson arrivals (open loop), survives every error (counted by SQLSTATE and step), rolls back
 * a failed explicit transaction, and reconnects after the server ends the session (25P03, 57P05…).
 * The hot path allocates nothing: latencies go to a histogram, parameters into pre-built buffers.
 */
export class ClientLoop {
  private conn: WireConnection | null = null;
  private readonly trips: EncodedRoundTrip[][];
  private readonly weights: number[];
  private readonly totalWeight: number;
  // In-flight transactions, oldest first (a ring of `pipeline` slots).
  private readonly startMs: Float64Array;
  private readonly txnOf: Int32Array;
  private readonly stepOf: Int32Array;
  private readonly failedOf: Uint8Array;
  private head = 0;
  private inFlight = 0;
  private slot = 0;
  // Multi-round-trip transactions (pipeline 1 only).
  private trip = 0;
  private thinking: NodeJS.Timeout | null = null;
  private rollingBack = false;
  private stopping = false;
  private nextArrival = 0;
  private arrivalTimer: NodeJS.Timeout | null = null;
  /** The arrival was waited for with a timer (so the session was free): its ms-granular lateness is ours, not the server's. */
  private onTime = false;
  private idleWaiter: (() => void) | null = null;

  constructor(
    private readonly workload: Workload,
    private readonly stats: LoadStats,
    private readonly opts: LoopOptions,
  ) {
    const depth = opts.pipeline;
    this.trips = workload.transactions.map((t) => t.roundTrips.map((rt) => encode(rt, depth)));
    this.weights = workload.transactions.map((t) => t.weight);
    this.totalWeight = this.weights.reduce((a, b) => a + b, 0);
    this.startMs = new Float64Array(depth);
    this.txnOf = new Int32Array(depth);
    this.stepOf = new Int32Array(depth);
    this.failedOf = new Uint8Array(depth);
  }

  /** Open the session (first login errors other than "too many connections" and the like are thrown). */
  async connect(): Promise<void> {
    this.attach(await WireConnection.open(this.opts.target, this.opts.appName, this.workload.statements));
  }

  start(): void {
    this.nextArrival = performance.now();
    if (this.opts.ratePerMs) this.nextArrival += this.interArrival();
    if (this.conn) this.fill();
    else void this.reconnect(); // its first login was refused (e.g. 53300): keep trying under load
  }

  /** Stop starting transactions; resolves when the ones in flight are done. */
  stop(): Promise<void> {
    this.stopping = true;
    if (this.arrivalTimer) clearTimeout(this.arrivalTimer);
    if (this.inFlight === 0 || !this.conn) return Promise.resolve();
    return new Promise((resolve) => (this.idleWaiter = resolve));
  }

  close(): void {
    if (this.thinking) clearTimeout(this.thinking);
    this.conn?.close();
    this.conn = null;
  }

  private attach(conn: WireConnection): void {
    this.conn = conn;
    conn.sink = (type, buf, start, end) => this.onMessage(type, buf, start, end);
    conn.socket.on('close', () => this.onClose(conn));
    conn.socket.on('error', () => undefined);
  }

  /** Start transactions until the pipeline is full (closed loop) or the next arrival is in the future (open loop). */
  private fill(): void {
    while (!this.stopping && this.conn && this.inFlight < this.opts.pipeline) {
      let startMs = performance.now();
      if (this.opts.ratePerMs) {
        if (this.nextArrival > startMs) {
          if (!this.arrivalTimer)
            this.arrivalTimer = setTimeout(() => {
              this.arrivalTimer = null;
              this.onTime = true;
              this.fill();
            }, this.nextArrival - startMs);
          return;
        }
        // An arrival that came due while the session was busy counts from when it was due,
        // so a backlog shows in the latency (no coordinated omission).
        if (!this.onTime) startMs = this.nextArrival;
        this.onTime = false;
        this.nextArrival += this.interArrival();
      }
      const i = (this.head + this.inFlight) % this.opts.pipeline;
      this.txnOf[i] = this.pick();
      this.stepOf[i] = 0;
      this.failedOf[i] = 0;
      this.startMs[i] = startMs;
      this.inFlight++;
      this.trip = 0;
      this.send(this.trips[this.txnOf[i]][0]);
    }
  }

  private send(rt: EncodedRoundTrip): void {
    const buf = rt.slots[this.slot];
    this.slot = (this.slot + 1) % rt.slots.length;
    try {
      rt.def.prepare?.();
      for (let k = 0; k < rt.offsets.length; k++) buf.writeInt32BE(rt.generators[k](), rt.offsets[k]);
    } catch (err) {
      // A script's value out of int4, a division by zero: counted on its step; this client stops
      // (every transaction of it would fail the same way, without reaching the server).
      const e = err as { code?: string; message: string };
      this.stats.error(rt.steps[0] ?? 'script', e.code ?? '22003', e.message);
      this.stopping = true;
      this.stats.failed += this.inFlight;
      this.inFlight = 0;
      this.idleWaiter?.();
      return;
    }
    this.conn!.write(buf);
  }

  private onMessage(type: number, buf: Buffer, start: number, end: number): void {
    const h = this.head;
    if (type === MSG.commandComplete) {
      this.stepOf[h]++;
    } else if (type === MSG.error) {
      const e = parseErrorFields(buf, start, end);
      this.stats.error(this.inFlight ? this.stepLabel() : 'session', e.code, e.message);
      if (this.inFlight) this.failedOf[h] = 1;
    } else if (type === MSG.ready && this.inFlight) {
      this.onReady(buf[start]);
    }
  }

  private stepLabel(): string {
    if (this.rollingBack) return 'rollback';
    const rt = this.trips[this.txnOf[this.head]][this.trip];
    if (this.thinking) return rt.def.thinkStep ?? 'think';
    return rt.steps[Math.min(this.stepOf[this.head], rt.steps.length - 1)];
  }

  private onReady(status: number): void {
    const h = this.head;
    if (this.rollingBack) {
      this.rollingBack = false;
      return this.finish(false);
    }
    if (this.failedOf[h]) {
      if (status === READY_IDLE) return this.finish(false);
      // An explicit transaction failed half-way: end it, as an application would.
      this.rollingBack = true;
      this.conn!.write(ROLLBACK);
      return;
    }
    const trips = this.trips[this.txnOf[h]];
    if (this.trip + 1 < trips.length) {
      const next = trips[++this.trip];
      this.stepOf[h] = 0;
      if (next.def.thinkMs) {
        this.thinking = setTimeout(() => {
          this.thinking = null;
          if (this.conn) this.send(next);
        }, next.def.thinkMs);
      } else this.send(next);
      return;
    }
    this.finish(true);
  }

  private finish(ok: boolean): void {
    const h = this.head;
    if (ok) this.stats.success((performance.now() - this.startMs[h]) * 1000);
    else this.stats.failed++;
    this.head = (h + 1) % this.opts.pipeline;
    this.inFlight--;
    if (this.stopping) {
      if (this.inFlight === 0) this.idleWaiter?.();
      return;
    }
    this.fill();
  }

  /** The server ended the session (or the network did): fail what was in flight, then log in again. */
  private onClose(conn: WireConnection): void {
    if (this.conn !== conn) return;
    this.conn = null;
    if (this.thinking) clearTimeout(this.thinking);
    this.thinking = null;
    this.rollingBack = false;
    if (this.inFlight && !this.failedOf[this.head]) this.stats.error(this.stepLabel(), '08006', 'connection lost');
    this.stats.failed += this.inFlight;
    this.inFlight = 0;
    if (this.stopping) return this.idleWaiter?.();
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.connect();
        if (this.stopping) return this.close();
        this.stats.reconnects++;
        return this.fill();
      } catch (err) {
        this.stats.error('connect', loginSqlstate(err), (err as Error).message);
        await new Promise((r) => setTimeout(r, RETRY_CONNECT_MS));
      }
    }
  }

  private pick(): number {
    if (this.weights.length === 1) return 0;
    let r = Math.random() * this.totalWeight;
    for (let i = 0; i < this.weights.length; i++) if ((r -= this.weights[i]) < 0) return i;
    return this.weights.length - 1;
  }

  private interArrival(): number {
    return -Math.log(1 - Math.random()) / this.opts.ratePerMs!;
  }
}

function encode(def: RoundTripDef, depth: number): EncodedRoundTrip {
  const parts: Buffer[] = [];
  const offsets: number[] = [];
  const generators: (() => number)[] = [];
  let at = 0;
  for (const step of def.steps) {
    const { bytes, paramOffsets } = bindExecute(step.statement, step.params.length);
    paramOffsets.forEach((o, k) => {
      offsets.push(at + o);
      generators.push(step.params[k]);
    });
    parts.push(bytes);
    at += bytes.length;
  }
  parts.push(SYNC);
  const one = Buffer.concat(parts);
  // One buffer per pipeline slot: a buffer is only rewritten once the server has answered it.
  return { def, slots: Array.from({ length: depth }, () => Buffer.from(one)), offsets, generators, steps: def.steps.map((s) => s.step) };
}
