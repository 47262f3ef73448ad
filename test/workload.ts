import pg from 'pg';

/**
 * A stand-in application for run/guard tests: `clients` loops, each running `sql` on a FRESH
 * session every time (a recycled pool), so new database settings reach it as they would in production.
 */
export function startWorkload(url: string, sql: string, clients = 4): { stop: () => Promise<{ ok: number; errors: Record<string, number> }> } {
  let running = true;
  let ok = 0;
  const errors: Record<string, number> = {};
  const loop = async () => {
    while (running) {
      const client = new pg.Client(url);
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query(sql);
        ok++;
      } catch (err) {
        const code = (err as { code?: string }).code ?? 'other';
        errors[code] = (errors[code] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 20));
      } finally {
        await client.end().catch(() => undefined);
      }
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
