import os from 'node:os';
import type { Command } from 'commander';
import { rollbackWithEvents } from '../../apply/rollback-events.js';
import { UsageError } from '../../errors.js';
import { ControlSession } from '../../fleet/control.js';
import { readFleetStatus } from '../../fleet/status.js';
import { pauseFleet, unpauseFleet } from '../../fleet/store.js';
import { fromUrl } from '../../pg/target.js';
import { withClient } from '../../pg/client.js';
import { refreshRunReports } from '../../report/refresh.js';
import { renderReport } from '../../report/write.js';
import type { RunRecord } from '../../run/run.js';
import { eventsTableExists, readEvents, type StoredEvent } from '../../state/events.js';
import { getRun, loadRunResult, recordStep } from '../../state/store.js';
import { isLoopback } from '../../web/auth.js';
import { readHistory } from '../../web/history.js';
import { MonitorFeed, type MonitorSnapshot } from '../../web/monitor-feed.js';
import { createDashboard, listen, type DashboardData } from '../../web/server.js';
import { EventTail } from '../../web/tail.js';
import { withEvents } from '../events.js';
import { fail, runCommand, type GlobalOptions } from '../session.js';

interface ServeFlags extends GlobalOptions {
  port: number;
  host: string;
  token?: string;
  allowActions?: boolean;
  control?: string;
  fleet?: string;
}

const port = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`--port ${v}: a port number 0-65535 (0: any free port)`);
  return n;
};

/** Listeners of one kind of news (journaled events, monitor snapshots). */
function channel<T>() {
  const fns = new Set<(x: T) => void>();
  return {
    publish: (x: T) => {
      for (const f of fns) f(x);
    },
    subscribe: (f: (x: T) => void) => {
      fns.add(f);
      return () => {
        fns.delete(f);
      };
    },
  };
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('a live dashboard in the browser: the current run as it progresses, the monitor, and past runs with their reports')
    .option('--port <n>', 'port to listen on (0: any free port)', port, 8642)
    .option('--host <address>', 'address to bind (anything but loopback needs --token)', '127.0.0.1')
    .option('--token <secret>', 'required to bind beyond loopback; the page is opened with ?token=… (or set PGHARDEN_SERVE_TOKEN)')
    .option(
      '--allow-actions',
      'allow rolling back a run, pausing and resuming the fleet from the page (each confirmed there and journaled with who did it)',
    )
    .option('--control <url>', 'a fleet control database: adds the Fleet tab (waves, targets by state, failures, pause/resume)')
    .option('--fleet <name>', 'the fleet the Fleet tab shows (default: the newest in --control)')
    .addHelpText(
      'after',
      `
Watches the database --db names: runs of pgharden run/apply/rollback/guard from any process
or machine journal their events in its pgharden.events table (pg_notify on insert); the
dashboard follows them with LISTEN and a poll. With --control URL the Fleet tab follows a
fleet rollout from its control database (polled every 2 s). Read-only unless --allow-actions.
Exit 0 after Ctrl-C, 2 bad flags (e.g. a non-loopback --host without --token).`,
    )
    .action(async (_o, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ServeFlags>();
      const token = opts.token ?? process.env.PGHARDEN_SERVE_TOKEN;
      if (!isLoopback(opts.host) && !token) {
        fail(
          new UsageError(
            `--host ${opts.host} would open the dashboard beyond this machine: give --token (or PGHARDEN_SERVE_TOKEN), or bind 127.0.0.1`,
          ),
          Boolean(opts.json),
        );
        return;
      }
      if (token !== undefined && token.length < 12) {
        fail(new UsageError('--token: use at least 12 characters (e.g. `openssl rand -hex 16`)'), Boolean(opts.json));
        return;
      }
      if (opts.fleet && !opts.control) {
        fail(new UsageError('--fleet names a fleet in a control database: give --control URL too'), Boolean(opts.json));
        return;
      }
      let controlTarget: ReturnType<typeof fromUrl> | undefined;
      try {
        controlTarget = opts.control ? fromUrl(opts.control, '--control') : undefined;
      } catch (err) {
        fail(err, Boolean(opts.json));
        return;
      }
      await runCommand(
        opts,
        async ({ ctx, client, log }) => {
          // Its own session (statement_timeout 30 s, error handler), reopened on the next poll after a loss.
          const control = controlTarget
            ? new ControlSession(controlTarget, (err) => log.warn(`fleet control database connection lost: ${err.message}`))
            : null;
          const runEvents = channel<StoredEvent[]>();
          const snapshots = channel<MonitorSnapshot>();
          const tail = new EventTail(ctx.target, runEvents.publish);
          const monitor = new MonitorFeed(ctx, snapshots.publish);
          const servedBy = os.userInfo().username;
          const data: DashboardData = {
            history: () => readHistory(client, ctx.target.database),
            runEvents: async (id) => ((await eventsTableExists(client)) ? readEvents(client, { runId: id }) : []),
            report: async (id) => {
              const record = await loadRunResult<RunRecord>(client, id).catch(() => null);
              return record ? renderReport(record, 'html') : null;
            },
            monitor,
            subscribe: runEvents.subscribe,
            subscribeMonitor: snapshots.subscribe,
            position: () => tail.position,
            fleetStatus: control ? () => control.run((c) => readFleetStatus(c, opts.fleet)) : undefined,
            actions: opts.allowActions
              ? {
                  // Journaled in pgharden_fleet.events (kind paused/resumed, worker = who asked, from where, served by whom).
                  fleet: control
                    ? async (action, fleetId, who) => {
                        const by = `${who.by} (dashboard, from ${who.from}, served by ${servedBy})`;
                        log.info(`dashboard: ${who.by} (from ${who.from}) asked to ${action} fleet ${fleetId}`);
                        try {
                          const f = await control.run((c) =>
                            action === 'pause' ? pauseFleet(c, fleetId, by) : unpauseFleet(c, fleetId, by),
                          );
                          return { ok: true, message: `fleet ${f.id}: ${f.paused ? `paused by ${f.pausedBy}` : f.status}` };
                        } catch (err) {
                          return { ok: false, message: (err as Error).message };
                        }
                      }
                    : undefined,
                  rollback: (runId, who) =>
                    withClient(
                      ctx.target,
                      async (session) => {
                        if (!(await getRun(session, runId))) return { ok: false, message: `no run ${runId} in this database` };
                        const detail = { by: who.by, from: who.from, servedBy, at: new Date().toISOString() };
                        await recordStep(session, runId, 'dashboard rollback', 'requested', detail);
                        log.info(`dashboard: ${who.by} (from ${who.from}) asked to roll back run ${runId}`);
                        try {
                          const result = await withEvents('rollback', ctx, {}, async (c) => {
                            c.events?.setRunId(runId);
                            c.events?.emit({ type: 'action.requested', action: 'rollback', by: who.by, from: who.from });
                            return rollbackWithEvents(c, session, { runId, lockWaitMs: 10_000 });
                          });
                          await refreshRunReports(session, runId, ctx.runsRoot).catch(() => undefined);
                          return { ok: result.ok, message: result.message };
                        } catch (err) {
                          return { ok: false, message: (err as Error).message };
                        }
                      },
                      { appName: 'pgharden serve action' },
                    ),
                }
              : undefined,
          };
          const server = createDashboard(data, { host: opts.host, port: opts.port, token, database: ctx.target.database });
          await tail.start();
          const address = await listen(server, opts.host, opts.port).catch((err) => {
            throw new UsageError(
              `cannot listen on ${opts.host}:${opts.port}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
            );
          });
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          process.stdout.write(
            `pgharden serve: http://${host}:${address.port}/${token ? `?token=${encodeURIComponent(token)}` : ''}  (database ${ctx.target.database}${control ? `, fleet control ${control.target.database}` : ''}, ${opts.allowActions ? 'actions allowed' : 'read-only'}; Ctrl-C stops)\n`,
          );
          await new Promise<void>((resolve) => {
            process.once('SIGINT', resolve);
            process.once('SIGTERM', resolve);
          });
          server.closeAllConnections();
          await new Promise((r) => server.close(r));
          await tail.close();
          await monitor.close();
          await control?.close();
          return { ok: true };
        },
        () => undefined,
      );
    });
}
