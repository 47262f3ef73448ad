import fs from 'node:fs/promises';

/** Server-log messages that matter to the triggers; the same text appears in stderr, csvlog and jsonlog formats. */
const PATTERNS = {
  statementTimeouts: /canceling statement due to statement timeout/g,
  idleTimeouts: /terminating connection due to idle-in-transaction timeout/g,
  tooManyConnections: /too many connections for (database|role)|sorry, too many clients already/g,
};

export type LogCounts = { [K in keyof typeof PATTERNS]: number };

/** Counts messages written to a server log since it was opened: it reads only what was appended. */
export class LogScanner {
  private offset = 0;
  private counts: LogCounts = { statementTimeouts: 0, idleTimeouts: 0, tooManyConnections: 0 };

  private constructor(private readonly file: string) {}

  /** Start at the log's current end, so only messages from now on count. */
  static async open(file: string): Promise<LogScanner> {
    const scanner = new LogScanner(file);
    scanner.offset = (await fs.stat(file)).size;
    return scanner;
  }

  async scan(): Promise<LogCounts> {
    const handle = await fs.open(this.file, 'r');
    try {
      const { size } = await handle.stat();
      if (size < this.offset) this.offset = 0; // rotated or truncated
      if (size > this.offset) {
        const buffer = Buffer.alloc(size - this.offset);
        await handle.read(buffer, 0, buffer.length, this.offset);
        this.offset = size;
        const text = buffer.toString('utf8');
        for (const key of Object.keys(PATTERNS) as (keyof LogCounts)[]) this.counts[key] += text.match(PATTERNS[key])?.length ?? 0;
      }
    } finally {
      await handle.close();
    }
    return { ...this.counts };
  }
}
