import { describe, expect, it } from 'vitest';
import { policyFile, runCli, snapshot, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

const policyFor = (staging: string, production: string, extra = '') => `
settings: { statement_timeout: 2s${extra} }
guard_window: 3s
environments:
  staging:    { db: "${staging}" }
  production: { db: "${production}", requires: [staging] }
`;

describe.each(testServers())('staging before production on $name PostgreSQL', (server) => {
  it('run --env production is refused until a run of the same policy passed in staging, and names that run', async () => {
    await withTestDatabase(server, uniqueName('staging'), async (stagingDb) => {
      await withTestDatabase(server, uniqueName('prod'), async (prodDb) => {
        const policy = await policyFile(policyFor(urlFor(server, stagingDb), urlFor(server, prodDb)));
        const run = (env: string, file = policy) =>
          runCli(['run', '--env', env, '--policy', file, '--yes', '--no-probes', '--window', '3s', '--json']);
        const before = await snapshot(server, prodDb);

        const refused = await run('production');
        expect(refused.code, refused.stderr).toBe(4);
        expect(JSON.stringify(refused.json)).toContain('staging: no passed `pgharden run` of this policy');
        expect(await snapshot(server, prodDb)).toEqual(before);

        const staged = await run('staging');
        expect(staged.code, staged.stderr).toBe(0);
        expect(staged.json.outcome).toBe('passed');

        const promoted = await run('production');
        expect(promoted.code, promoted.stderr).toBe(0);
        expect(promoted.json.record.promotion).toEqual([
          expect.objectContaining({ environment: 'staging', database: stagingDb, runId: staged.json.runId }),
        ]);
        expect((await snapshot(server, prodDb)).setconfig).toEqual(['statement_timeout=2s']);

        // A different policy (another content hash) has not passed staging.
        const changed = await policyFile(policyFor(urlFor(server, stagingDb), urlFor(server, prodDb), ', work_mem: 64MB'));
        const again = await run('production', changed);
        expect(again.code).toBe(4);
        expect((await snapshot(server, prodDb)).setconfig).toEqual(['statement_timeout=2s']);
      });
    });
  });
});
