import { describe, expect, it } from 'vitest';
import { policyFile, runCli, tempDir, TEST_POLICY, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { serve, stopServe } from './serve-helpers.js';

/** `pgharden serve` over HTTP: binding rules, the token, read-only by default, the fleet placeholder. */

describe.each(testServers())('pgharden serve on $name PostgreSQL', (server) => {
  it('refuses to bind beyond loopback without a token (exit 2), and a short token', async () => {
    const open = await runCli(['serve', '--db', urlFor(server, 'postgres'), '--host', '0.0.0.0', '--port', '0']);
    expect(open.code).toBe(2);
    expect(open.stderr).toMatch(/--host 0\.0\.0\.0 would open the dashboard beyond this machine: give --token/);
    const short = await runCli(['serve', '--db', urlFor(server, 'postgres'), '--token', 'abc']);
    expect(short.code).toBe(2);
    expect(short.stderr).toMatch(/--token: use at least 12 characters/);
    const fleetOnly = await runCli(['serve', '--db', urlFor(server, 'postgres'), '--fleet', 'shop']);
    expect(fleetOnly.code).toBe(2);
    expect(fleetOnly.stderr).toMatch(/--fleet names a fleet in a control database: give --control URL too/);
    const badControl = await runCli(['serve', '--db', urlFor(server, 'postgres'), '--control', 'http://nope']);
    expect(badControl.code).toBe(2);
  });

  it('with a token: 401 without it, the page and data with it; read-only; /api/fleet is the 404 placeholder; history lists runs', async () => {
    await withTestDatabase(server, uniqueName('serve_http'), async (db) => {
      const cwd = await tempDir();
      const policy = await policyFile(TEST_POLICY);
      const applied = await runCli(['apply', '--db', urlFor(server, db), '--policy', policy, '--json'], { cwd });
      expect(applied.code, applied.stderr).toBe(0);
      const token = 'test-token-0123456789';
      const { child, url } = await serve(['--db', urlFor(server, db), '--policy', policy, '--port', '0', '--token', token], cwd);
      try {
        const base = url.replace(/\/\?token=.*$/, '');
        expect(url).toBe(`${base}/?token=${token}`);
        expect((await fetch(`${base}/`)).status).toBe(401);
        expect((await fetch(`${base}/api/history`, { headers: { authorization: 'Bearer wrong-token-000000' } })).status).toBe(401);
        const page = await fetch(url);
        expect(page.status).toBe(200);
        expect(page.headers.get('set-cookie')).toMatch(/^pgharden_token=.*HttpOnly; SameSite=Strict/);
        expect(await page.text()).toContain('<title>pgharden dashboard</title>');
        const auth = { authorization: `Bearer ${token}` };
        const history = await (await fetch(`${base}/api/history`, { headers: auth })).json();
        expect(history).toEqual([
          expect.objectContaining({ id: applied.json.runId, command: 'apply', status: 'applied', hasReport: false }),
        ]);
        const events = await (await fetch(`${base}/api/runs/${applied.json.runId}/events`, { headers: auth })).json();
        const types: string[] = events.map((e: { event: { type: string } }) => e.event.type);
        expect(types.filter((t, i) => t !== types[i - 1])).toEqual([
          'run.started',
          'stage.started',
          'run.id',
          'change.applied',
          'stage.finished',
          'run.outcome',
        ]);
        expect(types.filter((t) => t === 'change.applied')).toHaveLength(applied.json.steps.length);
        const fleet = await fetch(`${base}/api/fleet`, { headers: auth });
        expect(fleet.status).toBe(404);
        expect(await fleet.json()).toEqual({ error: 'no fleet control database given' });
        const action = await fetch(`${base}/api/runs/${applied.json.runId}/rollback`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json', 'x-pgharden-action': '1' },
          body: JSON.stringify({ by: 'Mallory', confirm: applied.json.runId }),
        });
        expect(action.status).toBe(403);
        expect((await action.json()).error).toMatch(/read-only dashboard/);
        const status = await runCli(['status', '--db', urlFor(server, db), '--policy', policy, '--json'], { cwd });
        expect(JSON.stringify(status.json)).toContain('"applied"');
      } finally {
        await stopServe(child);
      }
    });
  });

  it('--allow-actions: a rollback from the page is refused without a name or confirmation, then done and journaled with who asked', async () => {
    await withTestDatabase(server, uniqueName('serve_act'), async (db) => {
      const cwd = await tempDir();
      const policy = await policyFile(TEST_POLICY);
      const applied = await runCli(['apply', '--db', urlFor(server, db), '--policy', policy, '--json'], { cwd });
      expect(applied.code, applied.stderr).toBe(0);
      const runId = applied.json.runId;
      const { child, url } = await serve(['--db', urlFor(server, db), '--policy', policy, '--port', '0', '--allow-actions'], cwd);
      try {
        const post = (body: unknown, headers: Record<string, string> = { 'x-pgharden-action': '1' }) =>
          fetch(`${url}api/runs/${runId}/rollback`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', ...headers },
            body: JSON.stringify(body),
          });
        expect((await post({ by: 'Jane', confirm: runId }, {})).status).toBe(403); // not from the page
        expect((await post({ by: 'Jane', confirm: runId }, { 'x-pgharden-action': '1', origin: 'http://evil.example' })).status).toBe(403);
        expect((await post({ confirm: runId })).status).toBe(400);
        expect((await post({ by: 'Jane', confirm: 'another-run' })).status).toBe(400);
        const done = await post({ by: 'Jane DBA', confirm: runId });
        const body = await done.json();
        expect(done.status, JSON.stringify(body)).toBe(200);
        expect(body.message).toMatch(/rolled back/);
        const steps = await runCli(['status', '--db', urlFor(server, db), '--policy', policy, '--json'], { cwd });
        expect(JSON.stringify(steps.json)).toContain('rolled_back');
        const events = await (await fetch(`${url}api/runs/${runId}/events`)).json();
        const action = events
          .map((e: { event: Record<string, unknown> }) => e.event)
          .find((e: Record<string, unknown>) => e.type === 'action.requested');
        expect(action).toMatchObject({ action: 'rollback', by: 'Jane DBA', command: 'rollback', runId });
      } finally {
        await stopServe(child);
      }
    });
  });
});
