/** Human progress text. With --json it goes to stderr so stdout stays one JSON document. */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
}

export function consoleLog(json: boolean): Log {
  const write = (s: string) => (json ? process.stderr : process.stdout).write(s + '\n');
  return {
    info: write,
    warn: (m) => process.stderr.write(`warning: ${m}\n`),
  };
}

export const silentLog: Log = { info: () => undefined, warn: () => undefined };
