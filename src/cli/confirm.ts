import readline from 'node:readline/promises';

/** Ask a yes/no question on the terminal; only called when stdin is a TTY. */
export async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** Interactive confirmation is wanted: a person at a terminal who did not pass --yes. */
export const shouldAsk = (opts: { yes?: boolean; json?: boolean }) => !opts.yes && !opts.json && Boolean(process.stdin.isTTY);
