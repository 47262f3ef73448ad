import fs from 'node:fs';
import type { EventSink } from './stream.js';
import type { RunEvent } from './types.js';

/**
 * `--events FILE`: one JSON object per line, in emission order, appended synchronously so
 * a reader tailing the file (or a killed process) sees every event emitted so far.
 */
export class JsonLinesSink implements EventSink {
  private readonly fd: number;

  constructor(readonly file: string) {
    this.fd = fs.openSync(file, 'a', 0o600);
  }

  write(event: RunEvent): void {
    fs.writeSync(this.fd, JSON.stringify(event) + '\n');
  }

  async close(): Promise<void> {
    fs.closeSync(this.fd);
  }
}
