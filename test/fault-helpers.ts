import { expect } from 'vitest';
// @ts-expect-error: plain ESM shared with bench/faults.mjs
import { faultMatrix, writePolicy } from '../bench/fault-matrix.mjs';

interface FaultResult {
  command: string;
  point: string;
  killed: boolean;
  named: string;
  via: string;
  converged: boolean;
}

/**
 * Crash injection (issue "Failure is the product"): at every journaled step of apply and rollback
 * the process SIGKILLs itself; `status` must name the state and the command it names must
 * converge to the exact expected state. 100 % of the injection points, listed with their outcome.
 */
export async function expectAllConverge(url: string, commands: string[], minimum: Record<string, number>) {
  const results: FaultResult[] = await faultMatrix(url, { commands, policyFile: await writePolicy(), limit: 4 });
  const table = results.map(
    (r) =>
      `${r.command.padEnd(8)} ${r.point.padEnd(32)} ${r.killed ? 'killed' : 'NOT KILLED'}  ${r.named.padEnd(60)} ${r.via}: ${r.converged ? 'exact' : 'DIFFERS'}`,
  );
  for (const c of commands) expect(results.filter((r) => r.command === c).length, table.join('\n')).toBeGreaterThanOrEqual(minimum[c]);
  expect(
    results.filter((r) => !r.killed || !r.converged),
    table.join('\n'),
  ).toEqual([]);
}
