import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FLEET_SCHEMA_FILE, inventoryJsonSchema } from '../src/fleet/json-schema.js';
import { parseInventory } from '../src/fleet/inventory.js';
import { planWaves } from '../src/fleet/waves.js';
import { newRunId } from '../src/state/run-dir.js';
import { ROOT, runCli } from './helpers.js';

/** An inventory file in a temp folder; `fleet plan` with no reachable control database must still refuse it first. */
async function inventory(yaml: string): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'pgharden-fleet-'));
  const file = path.join(dir, 'fleet.yaml');
  await fsp.writeFile(file, yaml);
  return file;
}

/** A control URL nothing listens on: the inventory is checked before any connection. */
const NOWHERE = 'postgres://postgres@127.0.0.1:1/control';

describe('fleet inventory', () => {
  it(`${FLEET_SCHEMA_FILE} is what \`pgharden fleet schema\` generates from the zod schema`, async () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, FLEET_SCHEMA_FILE), 'utf8'));
    expect(committed, 'stale: run `node dist/cli/main.js fleet schema > policies/fleet.schema.json`').toEqual(inventoryJsonSchema());
    const printed = await runCli(['fleet', 'schema']);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(committed);
    expect(committed.additionalProperties).toBe(false);
    expect(Object.keys(committed.properties)).toEqual(
      expect.arrayContaining([
        'policy',
        'targets',
        'discover',
        'waves',
        'concurrency',
        'max_failures',
        'probes',
        'guard_window',
        'wave_pause',
      ]),
    );
  });

  it("parses the issue's shape, with durations in ms and the name from the file", () => {
    const inv = parseInventory(
      `
policy: policies/ticket-010.yaml
targets: [postgres://db1.internal/app, service=shop_eu, env:production]
discover: { server: "postgres://pg1.internal:5432/postgres", databases: "shop_%" }
waves: [1, 10%, 50%, 100%]
concurrency: 20
max_failures: 1
probes: false
guard_window: 0s
`,
      '/etc/pgharden/shop-eu.yaml',
    );
    expect(inv).toMatchObject({
      name: 'shop-eu',
      policyPath: '/etc/pgharden/policies/ticket-010.yaml',
      waves: [1, '10%', '50%', '100%'],
      concurrency: 20,
      max_failures: 1,
      probes: false,
      guard_window: 0,
    });
    expect(inv.discover).toEqual({ server: 'postgres://pg1.internal:5432/postgres', databases: 'shop_%', exclude: [] });
  });

  it('refuses a password anywhere in the file, without printing it (exit 2, nothing contacted)', async () => {
    const file = await inventory(
      `targets: ["postgres://app:s3cr3t-pw@db1/app", "host=db2 dbname=app password=an0ther-pw"]\ndiscover: { server: "postgres://u:th1rd-pw@pg1/postgres", databases: "a%" }\n`,
    );
    const r = await runCli(['fleet', 'plan', '--inventory', file, '--control', NOWHERE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/targets\.0: .*holds a password/);
    expect(r.stderr).toMatch(/targets\.1: .*holds a password/);
    expect(r.stderr).toMatch(/discover\.server: .*holds a password/);
    expect(r.stderr).toContain('~/.pgpass');
    for (const secret of ['s3cr3t-pw', 'an0ther-pw', 'th1rd-pw']) expect(r.stderr + r.stdout).not.toContain(secret);
  });

  it('names every bad key and value (exit 2)', async () => {
    const cases: [string, RegExp][] = [
      [
        'discover: { server: "postgres://h/p", databases: "a%" }\nwaves: [0, 150%]\n',
        /waves\.0: .*at least 1[\s\S]*waves\.1: .*between 0% and 100%/,
      ],
      ['targets: [postgres://h/a]\nmax_failure: 1\n', /unknown key "max_failure"; allowed keys: .*max_failures/],
      ['targets: [postgres://h/a]\nguard_window: soon\n', /guard_window: "soon" — not a duration/],
      ['policy: ticket-010\n', /names no database: give targets:, discover:, or both/],
      ['targets: ["env:"]\n', /targets\.0: .*env: must be followed by an environment name/],
      ['targets: [postgres://h/a]\nconcurrency: 0\n', /concurrency: 0 — must be at least 1/],
    ];
    for (const [yaml, expected] of cases) {
      const r = await runCli(['fleet', 'plan', '--inventory', await inventory(yaml), '--control', NOWHERE]);
      expect(r.code, yaml).toBe(2);
      expect(r.stderr, yaml).toMatch(expected);
    }
    const missing = await runCli(['fleet', 'plan', '--inventory', '/nonexistent/fleet.yaml', '--control', NOWHERE]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read inventory /nonexistent/fleet.yaml: no such file');
  });

  it('a script that names no control database gets exit 3, never a throwaway embedded server', async () => {
    const r = await runCli(['fleet', 'status']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('no control database named: give --control URL');
  });

  it('cuts cumulative waves: a canary first, shares rounded up, the last wave reaching everyone', () => {
    const sizes = (n: number, spec: (number | string)[]) => planWaves(n, spec, 1).map((w) => w.size);
    expect(sizes(100, [1, '10%', '50%', '100%'])).toEqual([1, 9, 40, 50]);
    expect(sizes(5, [1, '10%', '50%', '100%'])).toEqual([1, 2, 2]); // 10% of 5 adds nobody after the canary
    expect(sizes(3, [1, 2])).toEqual([1, 1, 1]); // a list ending short gets the rest
    expect(sizes(1, [1, '10%', '100%'])).toEqual([1]);
    // max_failures as a share of each wave, at least 1: a failed canary stops a 10% budget.
    expect(planWaves(100, [1, '10%', '100%'], '10%').map((w) => w.maxFailures)).toEqual([1, 1, 9]);
  });

  it('run ids are unique, sortable by time and path-safe', () => {
    const now = new Date('2026-11-25T20:16:42.123Z');
    const ids = Array.from({ length: 20_000 }, () => newRunId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids[0]).toMatch(/^20261125-201642-123-[0-9a-f]{20}$/);
    const later = newRunId(new Date('2026-11-25T20:16:42.124Z'));
    expect([later, ...ids.slice(0, 3)].sort().at(-1)!.startsWith('20261125-201642-124')).toBe(true);
  });
});
