import { describe, expect, it } from 'vitest';
import { inWindow, parseWindow } from '../src/estate/window.js';
import { policyFile, runCli, snapshot, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const parts = (text: string) => {
  const p = parseWindow(text);
  if (!p.ok) throw new Error(p.error);
  return p.parts;
};

describe('maintenance window parsing (fixed instants, no clock)', () => {
  it('reads the wall clock of the zone, daylight saving included', () => {
    const w = parts('Sat 01:00-05:00 Europe/Berlin');
    expect(inWindow(w, new Date('2026-11-28T00:30:00Z'))).not.toBeNull(); // Sat 01:30 CET (UTC+1)
    expect(inWindow(w, new Date('2026-11-28T04:30:00Z'))).toBeNull(); // Sat 05:30 CET
    expect(inWindow(w, new Date('2026-07-03T23:30:00Z'))).not.toBeNull(); // Fri 23:30 UTC = Sat 01:30 CEST (UTC+2)
    expect(inWindow(w, new Date('2026-07-04T03:30:00Z'))).toBeNull(); // Sat 05:30 CEST (it would be 04:30 in winter time)
  });
  it('a range past midnight belongs to the day it starts; day ranges and lists', () => {
    const w = parts('Mon-Fri 22:00-02:00 UTC; Sat,Sun 00:00-24:00 UTC');
    expect(inWindow(w, new Date('2026-11-27T23:00:00Z'))).not.toBeNull(); // Fri 23:00
    expect(inWindow(w, new Date('2026-11-24T01:00:00Z'))).not.toBeNull(); // Tue 01:00, from Mon evening
    expect(inWindow(w, new Date('2026-11-23T01:00:00Z'))).toBeNull(); // Mon 01:00: Sunday ended at midnight, and Sunday evening is not Mon-Fri
    expect(inWindow(w, new Date('2026-11-25T12:00:00Z'))).toBeNull(); // Wed noon
  });
  it('says what is wrong with a bad window', () => {
    expect(parseWindow('Sat 01:00-05:00 Mars/Olympus')).toMatchObject({ ok: false, error: expect.stringContaining('not a time zone') });
    expect(parseWindow('Caturday 01:00-05:00 UTC')).toMatchObject({ ok: false, error: expect.stringContaining('not a day') });
    expect(parseWindow('Sat 25:00-05:00 UTC')).toMatchObject({ ok: false });
  });
});

/** A weekday that is not today in UTC, whatever the date: the window is certainly closed now. */
const closedDay = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][(new Date().getUTCDay() + 3) % 7];

describe.each(testServers())('maintenance windows on $name PostgreSQL', (server) => {
  it('apply --env outside the window is refused (exit 4, nothing changed); --outside-window "reason" goes ahead and is recorded', async () => {
    await withTestDatabase(server, uniqueName('window'), async (db) => {
      const policy = await policyFile(`
settings: { statement_timeout: 2s }
environments:
  production: { db: "${urlFor(server, db)}", window: "${closedDay} 01:00-05:00 Europe/Berlin" }
  always:     { db: "${urlFor(server, db)}", window: "Mon-Sun 00:00-24:00 UTC" }
`);
      const before = await snapshot(server, db);
      const refused = await runCli(['apply', '--env', 'production', '--policy', policy, '--yes']);
      expect(refused.code, refused.stderr).toBe(4);
      expect(refused.stderr).toContain(`outside the maintenance window of production (${closedDay} 01:00-05:00 Europe/Berlin`);
      expect(await snapshot(server, db)).toEqual(before);
      const ranOutside = await runCli(['run', '--env', 'production', '--policy', policy, '--yes', '--no-probes', '--window', '2s']);
      expect(ranOutside.code).toBe(4);
      expect(await snapshot(server, db)).toEqual(before);

      const forced = await runCli([
        'apply',
        '--env',
        'production',
        '--policy',
        policy,
        '--yes',
        '--outside-window',
        'INC-42 outage fix',
        '--json',
      ]);
      expect(forced.code, forced.stderr).toBe(0);
      const [step] = await sql<{ status: string; detail: { override: string } }>(
        server,
        `SELECT status, detail FROM pgharden.steps WHERE run_id = $1 AND name = 'window'`,
        [forced.json.runId],
        db,
      );
      expect(step).toMatchObject({ status: 'overridden', detail: { override: 'INC-42 outage fix' } });

      expect((await runCli(['rollback', '--env', 'always', '--policy', policy, '--yes'])).code).toBe(0);
      const inside = await runCli(['apply', '--env', 'always', '--policy', policy, '--yes']);
      expect(inside.code, inside.stderr).toBe(0);
    });
  });
});
