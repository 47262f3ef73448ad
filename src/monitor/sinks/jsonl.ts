import fs from 'node:fs';
import { UsageError } from '../../errors.js';
import type { Sink } from './sink.js';

/**
 * --jsonl FILE|-: one JSON object per line — `{"type":"sample",…}` per poll,
 * `{"type":"alert","state":"firing"|"resolved",…}` per transition, and the events
 * (`connected`, `connection_lost`, `poll_failed`, `recycled`, `warning`). A file is appended to.
 */
export function jsonlSink(destination: string): Sink {
  const stream = destination === '-' ? process.stdout : fs.createWriteStream('', { fd: openForAppend(destination) });
  let failed = false;
  if (stream !== process.stdout) {
    stream.on('error', (err) => {
      if (!failed) process.stderr.write(`pgharden monitor: cannot write ${destination}: ${err.message}\n`);
      failed = true;
    });
  }
  const write = (record: object) => {
    if (!failed) stream.write(JSON.stringify(record) + '\n');
  };
  return {
    sample: (s, firing) => write({ type: 'sample', ...s, firing: firing.length }),
    transition: (t) => write(t),
    event: (e) => write(e),
    close: () => (stream === process.stdout ? undefined : new Promise<void>((resolve) => (stream as fs.WriteStream).end(() => resolve()))),
  };
}

/** Open now, so a bad path is a usage error before the monitor starts. */
function openForAppend(file: string): number {
  try {
    return fs.openSync(file, 'a');
  } catch (err) {
    throw new UsageError(`--jsonl ${file}: cannot open for writing: ${(err as Error).message}`);
  }
}
