import { setHumanStream } from './color.js';

/** Human progress text. With --json it goes to stderr so stdout stays one JSON document. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
}

export function consoleLog(json: boolean): Log {
  const stream = json ? process.stderr : process.stdout;
  setHumanStream(stream); // colour is decided for the stream written to
  const write = (s: string) => stream.write(s + '\n');
  return {
    info: write,
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
}

export const silentLog: Log = { info: () => undefined, warn: () => undefined };
