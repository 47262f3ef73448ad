import { connect, type Client } from '../../pg/client.js';
import type { Target } from '../../pg/target.js';

/**
 * A fresh session opened exactly as an application opens one (no settings of ours),
 * so database- and role-level values apply. Remembers how the server ended it.
 */
export interface ProbeSession {
  client: Client;
  /** Resolves with the error that ended the session (25P03, 57P05, 25P04, …), or null on a plain close. */
  ended: Promise<(Error & { code?: string }) | null>;
  close(): Promise<void>;
}

export async function openProbeSession(target: Target, probe: string): Promise<ProbeSession> {
  let endedWith: ((err: (Error & { code?: string }) | null) => void) | undefined;
  const ended = new Promise<(Error & { code?: string }) | null>((resolve) => (endedWith = resolve));
  let first: (Error & { code?: string }) | null = null;
  // A termination arrives as an 'error' event; unhandled it would kill the process.
  const client = await connect(target, {
    raw: true,
    appName: `pgharden probe ${probe}`,
    onError: (err) => {
      first ??= err;
      endedWith?.(first);
    },
  });
  client.on('end', () => endedWith?.(first));
  return {
    client,
    ended,
    close: () => client.end().catch(() => undefined),
  };
}

/** `ms` of waiting that can be cut short. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The SQLSTATE of a server error, if it is one. */
export const sqlstateOf = (err: unknown): string | undefined => (err as { code?: string } | null)?.code;
