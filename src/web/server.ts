import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StoredEvent } from '../state/events.js';
import { authorised, COOKIE, hostAllowed, sameOriginAction } from './auth.js';
import type { MonitorSnapshot } from './monitor-feed.js';
import { PAGE } from './page.js';

/**
 * The data the dashboard serves. Each is one function, so a panel is added by giving one more:
 * `fleetStatus` is the fleet panel's (src/fleet's `readFleetStatus()` once a control database
 * is given); while it is absent, /api/fleet answers 404 and the page hides the Fleet tab.
 */
export interface DashboardData {
  history(): Promise<unknown[]>;
  runEvents(runId: string): Promise<StoredEvent[]>;
  /** The report of a run as HTML, or null when the run saved none. */
  report(runId: string): Promise<string | null>;
  monitor: { watch(): () => void; latest: MonitorSnapshot | null };
  /** Events as they are journaled (any process): the server relays them to every page. */
  subscribe(fn: (events: StoredEvent[]) => void): () => void;
  subscribeMonitor(fn: (s: MonitorSnapshot) => void): () => void;
  position(): number;
  /** The fleet panel: `readFleetStatus(control)` (serve --control URL); undefined = no fleet control database given. */
  fleetStatus?: () => Promise<unknown>;
  /** Present only with --allow-actions (fleet: only with a control database too). */
  actions?: {
    rollback(runId: string, who: Who): Promise<ActionResult>;
    fleet?(action: 'pause' | 'resume', fleetId: string, who: Who): Promise<ActionResult>;
  };
}

export interface Who {
  by: string;
  from: string;
}
export interface ActionResult {
  ok: boolean;
  message: string;
}

export interface ServeOptions {
  host: string;
  port: number;
  token?: string;
  database: string;
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
};

const RUN_ID = /^[A-Za-z0-9._-]{1,100}$/;

async function readBody(req: IncomingMessage, max = 4096): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

/** node:http, no framework: eight routes, server-sent events, one inline page (README: "Dashboard"). */
export function createDashboard(data: DashboardData, opts: ServeOptions): http.Server {
  const page = PAGE.replace(
    '__CONFIG__',
    JSON.stringify({ database: opts.database, actions: Boolean(data.actions) }).replace(/</g, '\\u003c'),
  );
  return http.createServer((req, res) => {
    void route(req, res).catch((err) => {
      if (!res.headersSent) json(res, 500, { error: (err as Error).message });
      else res.end();
    });
  });

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // '//x' would parse as a host: collapse leading slashes first.
    const url = new URL((req.url ?? '/').replace(/^\/+/, '/'), 'http://dashboard');
    if (!hostAllowed(req, opts.token))
      return json(res, 403, { error: 'this dashboard answers to a loopback Host only (bind elsewhere with --token)' });
    if (!authorised(req, url, opts.token))
      return json(res, 401, { error: 'token required: open the URL pgharden serve printed (…/?token=…)' });
    const path = url.pathname;
    const method = req.method ?? 'GET';

    if (method === 'GET' && path === '/') {
      const headers: Record<string, string> = {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'content-security-policy':
          "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      };
      // The token moves from the URL into a cookie the page's fetch and EventSource send.
      if (opts.token && url.searchParams.get('token'))
        headers['set-cookie'] = `${COOKIE}=${encodeURIComponent(opts.token)}; HttpOnly; SameSite=Strict; Path=/`;
      res.writeHead(200, headers);
      return void res.end(page);
    }
    if (method === 'GET' && path === '/api/history') return json(res, 200, await data.history());
    if (method === 'GET' && path === '/api/monitor') return json(res, 200, data.monitor.latest);
    if (method === 'GET' && path === '/api/fleet') {
      if (!data.fleetStatus) return json(res, 404, { error: 'no fleet control database given' });
      return json(res, 200, await data.fleetStatus());
    }
    const fleetAction = /^\/api\/fleet\/(pause|resume)$/.exec(path);
    if (method === 'POST' && fleetAction) {
      if (!data.fleetStatus) return json(res, 404, { error: 'no fleet control database given' });
      if (!data.actions?.fleet)
        return json(res, 403, {
          error: 'read-only dashboard: start pgharden serve with --allow-actions to pause or resume the fleet from here',
        });
      if (!sameOriginAction(req)) return json(res, 403, { error: 'actions are accepted from the dashboard page only' });
      const body = (await readBody(req)) as { by?: unknown; confirm?: unknown };
      const by = typeof body.by === 'string' ? body.by.trim().slice(0, 100) : '';
      if (!by) return json(res, 400, { error: 'say who you are: every action is journaled with who did it' });
      if (typeof body.confirm !== 'string' || !RUN_ID.test(body.confirm))
        return json(res, 400, { error: 'not confirmed: type the fleet name to confirm' });
      const result = await data.actions.fleet(fleetAction[1] as 'pause' | 'resume', body.confirm, {
        by,
        from: req.socket.remoteAddress ?? 'unknown',
      });
      return json(res, result.ok ? 200 : 409, result);
    }
    const runPath = /^\/api\/runs\/([^/]+)\/(events|rollback)$/.exec(path);
    if (runPath && !RUN_ID.test(runPath[1])) return json(res, 400, { error: 'bad run id' });
    if (method === 'GET' && runPath?.[2] === 'events') return json(res, 200, await data.runEvents(runPath[1]));
    if (method === 'POST' && runPath?.[2] === 'rollback') {
      if (!data.actions)
        return json(res, 403, { error: 'read-only dashboard: start pgharden serve with --allow-actions to roll back from here' });
      if (!sameOriginAction(req)) return json(res, 403, { error: 'actions are accepted from the dashboard page only' });
      const body = (await readBody(req)) as { by?: unknown; confirm?: unknown };
      const by = typeof body.by === 'string' ? body.by.trim().slice(0, 100) : '';
      if (!by) return json(res, 400, { error: 'say who you are: every action is journaled with who did it' });
      if (body.confirm !== runPath[1]) return json(res, 400, { error: 'not confirmed: type the run id to confirm' });
      const result = await data.actions.rollback(runPath[1], { by, from: req.socket.remoteAddress ?? 'unknown' });
      return json(res, result.ok ? 200 : 409, result);
    }
    const report = /^\/report\/([^/]+)$/.exec(path);
    if (method === 'GET' && report) {
      if (!RUN_ID.test(report[1])) return json(res, 400, { error: 'bad run id' });
      const html = await data.report(report[1]);
      if (html === null) return json(res, 404, { error: `run ${report[1]} saved no report` });
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
      });
      return void res.end(html);
    }
    if (method === 'GET' && path === '/api/stream') return stream(req, res, url);
    return json(res, 404, { error: `no route ${method} ${path}` });
  }

  /** Server-sent events: `run` (a journaled event with its id) and `monitor` (a snapshot, while the page shows the monitor). */
  function stream(req: IncomingMessage, res: ServerResponse, url: URL): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    const send = (event: string, payload: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
    send('hello', { position: data.position() });
    const offRun = data.subscribe((events) => {
      for (const e of events) send('run', e);
    });
    const wantsMonitor = url.searchParams.get('monitor') === '1';
    const unwatch = wantsMonitor ? data.monitor.watch() : () => undefined;
    const offMonitor = wantsMonitor ? data.subscribeMonitor((s) => send('monitor', s)) : () => undefined;
    if (wantsMonitor && data.monitor.latest) send('monitor', data.monitor.latest);
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    req.on('close', () => {
      clearInterval(ping);
      offRun();
      offMonitor();
      unwatch();
    });
  }
}

export function listen(server: http.Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server.address() as AddressInfo));
  });
}
