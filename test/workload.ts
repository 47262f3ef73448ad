import pg from 'pg';

/**
 * A stand-in application for run/guard tests: `clients` loops, each running `sql` on a FRESH
 * session every time (a recycled pool), so new database settings reach it as they would in production.
 * Each loop pauses `pauseMs` between its sessions, as an application between requests: flat out,
 * four loops of connect/query/disconnect took both cores of the test machine for the whole window,
 * and no test needs more than a steady stream of fresh sessions.
 */
export function startWorkload(
  url: string,
  sql: string,
  clients = 4,
  pauseMs = 50,
): { stop: () => Promise<{ ok: number; errors: Record<string, number> }> } {
  let running = true;
  let ok = 0;
  const errors: Record<string, number> = {};
  const loop = async () => {
    while (running) {
      const client = new pg.Client(url);
      client.on('error', () => undefined);
      let pause = pauseMs;
      try {
        await client.connect();
        await client.query(sql);
        ok++;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'other';
        errors[code] = (errors[code] ?? 0) + 1;
        pause = 20;
      } finally {
        await client.end().catch(() => undefined);
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  };
  const loops = Array.from({ length: clients }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { ok, errors };
    },
  };
}
