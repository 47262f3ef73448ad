import { Option, type Command } from 'commander';
import { UsageError } from '../../errors.js';
import { redact } from '../../pg/redact.js';
import { fromUrl } from '../../pg/target.js';
import { verify } from '../../verify/verify.js';
import type { ProbeResult } from '../../verify/probes/types.js';
import type { Log } from '../../log.js';
import { probeCountdown } from '../probe-progress.js';
import { verifyNagios } from '../../verify/nagios.js';
import { nagiosOnce } from '../nagios-once.js';
import { runCommand, type CommandEnv, type GlobalOptions } from '../session.js';
import { renderVerifySummary } from '../verify-render.js';
import { paint } from '../table.js';

interface VerifyFlags extends GlobalOptions {
  probes?: boolean;
  probeUrl: string[];
  probeConnections?: boolean;
  once?: boolean;
  verbose?: boolean;
}

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  program
    .command('verify')
    .description('prove the policy is in force for new sessions, for every login role')
    .option('--probes', 'also prove the limits bite: timeouts must cancel/terminate fresh sessions (takes about the longest timeout)')
    .addOption(
      new Option('--probe-url <url>', 'also run the timeout probes logged in as this connection string (repeatable; implies --probes)')
        .argParser(collect)
        .default([], 'none'),
    )
    .option('--probe-connections', 'also fill the database up to its connection limit with a temporary role (implies --probes)')
    .option('--once', 'print one Nagios/check_postgres-style line and exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .option('--verbose', "also print every login role's effective value of every setting")
    .addHelpText(
      'after',
      `
Reads the values on a fresh session of the connecting role (not a SET in our own session),
and computes, for every login role allowed to connect, the value its new sessions get
from pg_db_role_setting (role in database > role > database > server). A role whose own
setting defeats the policy fails the check, named, with the SQL that fixes it.

--probes runs the runbook's functional tests on fresh sessions, concurrently:
  statement_timeout                    pg_sleep past the limit must fail with 57014 in time
  idle_in_transaction_session_timeout  an idle transaction must be terminated with 25P03
  transaction_timeout (PG 17+)         a long busy transaction must be ended with 25P04
  idle_session_timeout (PG 14+)        an idle session must be ended with 57P05
  connection_limit (--probe-connections) a temporary role is admitted exactly up to the limit (53300)
Role-level settings apply at login only, so --probe-url with an application's own login
catches an override that SET ROLE could not. A probe that cannot run is "skipped", never passed.
Exit 0 all checks and probes pass, 1 a check or a probe failed, 2 bad usage or policy,
3 cannot connect, 5 the database refused a query, 70 internal error.

--once (Nagios plugin codes, as monitor --once): 0 OK every setting is in force for every
login role; 1 WARNING only advisory items differ (sessions still on pre-apply settings,
probes that could not run); 2 CRITICAL a setting drifted or a role override defeats it;
3 UNKNOWN it cannot tell (a setting this server cannot check, no connection, any error).`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<VerifyFlags>();
      const wantProbes = Boolean(opts.probes || opts.probeConnections || opts.probeUrl.length);
      const countdown = probeCountdown(Boolean(opts.json || opts.once));
      const check = async ({ ctx, client }: CommandEnv) => {
        for (const url of opts.probeUrl) {
          try {
            fromUrl(url, '--db');
          } catch (err) {
            throw new UsageError(
              `--probe-url ${JSON.stringify(redact(url))} is not a connection string (postgres://user:password@host:port/database or keyword=value pairs): ${(err as Error).message}`,
            );
          }
        }
        try {
          return await verify(
            ctx,
            client,
            wantProbes ? { probes: { urls: opts.probeUrl, connections: opts.probeConnections, onProgress: countdown.onProgress } } : {},
          );
        } finally {
          countdown.done();
        }
      };
      if (opts.once) return nagiosOnce(opts, check, verifyNagios);
      await runCommand(opts, check, (r, { log }) => {
        log.info(`verify ${r.database}: fresh session as ${r.liveRole}, ${r.loginRoles} login role(s) may connect`);
        renderVerifySummary(log, r, Boolean(opts.verbose));
        // Passing checks that still want attention (a declared exception about to expire).
        for (const c of r.checks.filter((x) => x.ok && x.warning)) log.info(`  ! ${c.message}`);
        if (r.probes) renderProbes(log, r.probes);
        const settings = new Set(r.checks.map((c) => c.setting ?? c.name));
        const failedSettings = new Set(r.checks.filter((c) => !c.ok).map((c) => c.setting ?? c.name)).size;
        const failedProbes = r.probes?.filter((p) => p.status === 'failed').length ?? 0;
        log.info(
          r.ok
            ? 'verified: the policy is in force for new sessions'
            : `FAILED: ${failedSettings} of ${settings.size} setting(s) not in force for every role${failedProbes ? `, ${failedProbes} probe(s) failed` : ''}`,
        );
      });
    });
}

function renderProbes(log: Log, probes: ProbeResult[]): void {
  if (!probes.length) {
    log.info(
      'probes: none apply (the policy sets no statement, idle, transaction or idle-session timeout; --probe-connections probes the connection limit)',
    );
    return;
  }
  log.info(`probes (fresh sessions, run concurrently):`);
  for (const p of probes) {
    const tag = p.status === 'passed' ? paint.ok('✔') : p.status === 'failed' ? paint.bad('✘') : paint.warn('– skipped');
    log.info(`  ${tag} ${p.message}`);
  }
  const skippedCount = probes.filter((p) => p.status === 'skipped').length;
  if (skippedCount) log.info(paint.warn(`  ${skippedCount} probe(s) skipped: those limits are not proven by behaviour`));
}
