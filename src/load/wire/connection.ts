import net from 'node:net';
import { connect } from '../../pg/client.js';
import type { Target } from '../../pg/target.js';
import { parseErrorFields, parseMessage, syncMessage, terminateMessage } from './messages.js';

/** Receives each backend message: its type byte and where its body lies in `buf`. */
export type MessageSink = (type: number, buf: Buffer, start: number, end: number) => void;

export const MSG = { commandComplete: 0x43, error: 0x45, ready: 0x5a } as const;

const READ_BUFFER_BYTES = 64 * 1024;

/**
 * A session opened by node-postgres exactly as an application opens one (authentication,
 * TLS, libpq conventions), whose socket we then drive directly with pre-encoded extended-
 * protocol messages: node-postgres's per-query parsing and objects stay out of the hot loop.
 * Without TLS the socket reads into one reusable buffer (net.Socket `onread`): while
 * node-postgres logs in, each read is copied to it as a 'data' event; afterwards reads go
 * straight to our parser and allocate nothing.
 */
export class WireConnection {
  private carry: Buffer | null = null;
  sink: MessageSink = () => undefined;

  private constructor(
    readonly socket: net.Socket,
    ownReads: boolean,
  ) {
    socket.removeAllListeners('data');
    if (!ownReads) socket.on('data', (chunk: Buffer) => this.onData(chunk, chunk.length));
  }

  /** Connect raw (the database's and role's settings apply) and prepare `statements`; rejects with the server's error. */
  static async open(target: Target, appName: string, statements: { name: string; sql: string; params: number }[]): Promise<WireConnection> {
    let wire: WireConnection | null = null;
    const ownReads = !target.config.ssl && !target.config.stream;
    const stream = ownReads
      ? () => {
          const socket: net.Socket = new net.Socket({
            onread: {
              buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
              callback: (n: number, buf: Uint8Array) => {
                if (wire) wire.onData(buf as Buffer, n);
                else socket.emit('data', Buffer.from(buf.subarray(0, n)));
              },
            },
          } as net.SocketConstructorOpts); // `onread` is in Node's docs and code, not in @types/node 20's constructor type
          return socket;
        }
      : undefined;
    const client = await connect(stream ? { ...target, config: { ...target.config, stream } } : target, {
      raw: true,
      appName,
      onError: () => undefined,
    });
    const socket = (client as unknown as { connection: { stream: net.Socket } }).connection.stream;
    wire = new WireConnection(socket, ownReads);
    try {
      await wire.roundTrip(Buffer.concat([...statements.map((s) => parseMessage(s.name, s.sql, s.params)), syncMessage()]));
    } catch (err) {
      wire.close();
      throw err;
    }
    return wire;
  }

  /** Send `bytes` (ending in Sync) and wait for ReadyForQuery; rejects with the first ErrorResponse. Not for the hot loop. */
  roundTrip(bytes: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      let failure: Error | null = null;
      const lost = () => reject(failure ?? new Error('connection closed'));
      this.socket.once('close', lost);
      this.sink = (type, buf, start, end) => {
        if (type === MSG.error && !failure) {
          const e = parseErrorFields(buf, start, end);
          failure = Object.assign(new Error(e.message), { code: e.code });
        } else if (type === MSG.ready) {
          this.socket.off('close', lost);
          if (failure) reject(failure);
          else resolve();
        }
      };
      this.socket.write(bytes);
    });
  }

  /** `n` bytes at the start of `chunk`, which may be reused after we return. */
  private onData(chunk: Buffer, length: number): void {
    let buf = chunk;
    let n = length;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk.subarray(0, length)]);
      n = buf.length;
      this.carry = null;
    }
    let i = 0;
    while (n - i >= 5) {
      const end = i + 1 + buf.readInt32BE(i + 1);
      if (end > n) break;
      this.sink(buf[i], buf, i + 5, end);
      i = end;
    }
    // A message split across reads: keep a copy of its start (rare: only then do we allocate).
    if (i < n) this.carry = Buffer.from(buf.subarray(i, n));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Say goodbye politely when we can, and release the socket. */
  close(): void {
    if (this.socket.writable) this.socket.end(terminateMessage());
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }
}
