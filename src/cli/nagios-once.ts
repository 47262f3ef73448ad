import { consoleLog } from '../log.js';
import { NagiosCode, unknownLine } from '../monitor/nagios.js';
import { connect, type Client } from '../pg/client.js';
import type { EmbeddedServer } from '../pg/embedded.js';
import { loadPolicy } from '../policy/load.js';
import { chooseTarget, type CommandEnv, type GlobalOptions } from './session.js';

/**
 * The frame of a `--once` check (Nagios plugin semantics): the same connection rules as every
 * command, but every outcome, errors included, is one line and a plugin code. A bad policy or
 * no connection is UNKNOWN (3), never exit 2 or 70, which a monitoring system would misread.
 */
export async function nagiosOnce<T>(
  opts: GlobalOptions,
  body: (env: CommandEnv) => Promise<T>,
  judge: (result: T) => { status: string; exitCode: number; line: string },
): Promise<void> {
  let embedded: EmbeddedServer | null = null;
  let client: Client | null = null;
  const log = consoleLog(true); // notes to stderr: stdout is the plugin's one line
  try {
    const policy = await loadPolicy(opts.policy);
    const chosen = await chooseTarget(opts, policy, log);
    embedded = chosen.embedded;
    client = await connect(chosen.target, { onError: (err) => log.warn(`connection lost: ${err.message}`) });
    const result = await body({ ctx: { target: chosen.target, policy, log }, client, embedded, log, json: Boolean(opts.json) });
    const verdict = judge(result);
    process.stdout.write(
      opts.json ? JSON.stringify({ ok: verdict.exitCode === NagiosCode.OK, ...verdict, result }, null, 2) + '\n' : verdict.line + '\n',
    );
    process.exitCode = verdict.exitCode;
  } catch (err) {
    const line = unknownLine((err as Error)?.message ?? String(err));
    process.stdout.write(
      opts.json ? JSON.stringify({ ok: false, status: 'UNKNOWN', exitCode: NagiosCode.UNKNOWN, line }) + '\n' : line + '\n',
    );
    process.exitCode = NagiosCode.UNKNOWN;
  } finally {
    await client?.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
  }
}
