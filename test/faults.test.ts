import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM shared with bench/faults.mjs
import { faultMatrix, writePolicy } from '../bench/fault-matrix.mjs';
import { testServers } from './helpers.js';

interface FaultResult { command: string; point: string; killed: boolean; named: string; via: string; converged: boolean }

/**
 * Crash injection (issue "Failure is the product"): at every journaled step of apply, rollback and
 * run the process SIGKILLs itself; `status` must name the state and the command it names must
 * converge to the exact expected state. 100 % of the injection points, listed with their outcome.
 */
describe.each(testServers())('crash injection on $name PostgreSQL', (server) => {
  const commands = server.name === 'embedded' ? ['apply', 'rollback', 'run'] : ['apply', 'rollback'];
  it(`every injection point of ${commands.join(', ')} converges`, async () => {
    const results: FaultResult[] = await faultMatrix(server.url, { commands, policyFile: await writePolicy(), limit: 6 });
    const table = results.map((r) => `${r.command.padEnd(8)} ${r.point.padEnd(32)} ${r.killed ? 'killed' : 'NOT KILLED'}  ${r.named.padEnd(60)} ${r.via}: ${r.converged ? 'exact' : 'DIFFERS'}`);
    // Each command has its backup and every change as points; run has its stages too.
    for (const c of commands) expect(results.filter((r) => r.command === c).length, table.join('\n')).toBeGreaterThanOrEqual(c === 'run' ? 10 : 5);
    expect(results.filter((r) => !r.killed || !r.converged), table.join('\n')).toEqual([]);
  }, 900_000);
});
