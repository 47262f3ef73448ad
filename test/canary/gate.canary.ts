import { expect, it } from 'vitest';
import { sql, testServers } from '../helpers.js';

/**
 * Known to fail, on purpose. `.ci/run` runs it first (PGHARDEN_CANARY=1 npm test) and requires a
 * non-zero exit: proof that a failing test turns the gate red, with the embedded server started
 * by the global setup exactly as for the real suite (its exit hooks once forced exit code 0).
 */
it('canary: a failing assertion after real SQL must fail the run', async () => {
  const [server] = testServers();
  const [row] = await sql<{ one: number }>(server, 'SELECT 1 AS one');
  expect(row.one).toBe(2);
});
