import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyJsonSchema, POLICY_SCHEMA_FILE } from '../src/policy/json-schema.js';
import { builtinPolicies, BUILTIN_POLICIES_DIR, loadPolicy, sha256 } from '../src/policy/load.js';
import { parsePolicy } from '../src/policy/parse.js';
import { closest } from '../src/suggest.js';
import { policyFile, ROOT, runCli, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

describe('policy authoring', () => {
  it('each built-in policy has a current precompiled copy, and loading it gives what parsing its YAML gives', async () => {
    for (const name of builtinPolicies()) {
      const text = fs.readFileSync(path.join(BUILTIN_POLICIES_DIR, `${name}.yaml`), 'utf8');
      const compiled = JSON.parse(fs.readFileSync(path.join(BUILTIN_POLICIES_DIR, `${name}.parsed.json`), 'utf8'));
      expect(compiled.sha256, `stale: run node scripts/precompile-policies.mjs`).toBe(sha256(text));
      expect(await loadPolicy(name)).toEqual(parsePolicy(text, name));
    }
  });

  it(`${POLICY_SCHEMA_FILE} is what \`pgharden policy schema\` generates from the zod schema`, async () => {
    const committed = JSON.parse(fs.readFileSync(path.join(ROOT, POLICY_SCHEMA_FILE), 'utf8'));
    expect(committed, 'stale: run `node dist/cli/main.js policy schema > policies/policy.schema.json`').toEqual(policyJsonSchema());
    const printed = await runCli(['policy', 'schema']);
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual(committed);
    // What editors need from it: the keys, no others, and the setting-name pattern.
    expect(committed.additionalProperties).toBe(false);
    expect(Object.keys(committed.properties)).toEqual(
      expect.arrayContaining(['settings', 'connection_limit', 'alerts', 'rollback_triggers', 'guard_window']),
    );
  });

  it('every shipped policy names the schema for yaml-language-server', () => {
    for (const name of builtinPolicies()) {
      const first = fs.readFileSync(path.join(BUILTIN_POLICIES_DIR, `${name}.yaml`), 'utf8').split('\n')[0];
      expect(first, name).toBe('# yaml-language-server: $schema=./policy.schema.json');
    }
  });

  it('validate offline: shape and parameter names, with "did you mean"', async () => {
    expect((await runCli(['policy', 'validate'])).code).toBe(0); // the built-in policy
    const typo = await runCli(['policy', 'validate', await policyFile('settings:\n  statement_timout: 30s\n')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('settings.statement_timout: not a PostgreSQL 18 parameter (did you mean statement_timeout?)');
    const postmaster = await runCli(['policy', 'validate', '--json', await policyFile('settings:\n  max_connections: 500\n')]);
    expect(postmaster.code).toBe(2);
    expect(postmaster.json.details ?? postmaster.json.error).toBeDefined();
    expect(postmaster.stderr).toContain('write connection_limit: N instead');
    const key = await runCli(['policy', 'validate', await policyFile('conection_limit: 5\n')]);
    expect(key.stderr).toContain('unknown key "conection_limit" (did you mean connection_limit?)');
    const atTop = await runCli(['policy', 'validate', await policyFile('statment_timeout: 30s\n')]);
    expect(atTop.stderr).toContain('did you mean settings.statement_timeout?');
  });

  it('--policy with a missing file names the built-in policies', async () => {
    const r = await runCli(['policy', 'validate', '--policy', 'nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read policy nope: no such file; the built-in policies are: ticket-010');
  });

  it('closest(): near names only', () => {
    expect(closest('statement_timout', ['statement_timeout', 'lock_timeout'])).toBe('statement_timeout');
    expect(closest('wrok_mem', ['work_mem'])).toBe('work_mem');
    expect(closest('colour', ['statement_timeout'])).toBeNull();
  });
});

describe.each(testServers())('policy validate --db on $name PostgreSQL', (server) => {
  it('checks values against pg_settings and names a misspelt setting (exit 2 bad unit, 4 unknown parameter)', async () => {
    await withTestDatabase(server, uniqueName('pval'), async (db) => {
      const url = urlFor(server, db);
      expect((await runCli(['policy', 'validate', await policyFile('settings:\n  statement_timeout: 2s\n'), '--db', url])).code).toBe(0);
      const unit = await runCli(['policy', 'validate', await policyFile('settings:\n  statement_timeout: 30 parsecs\n'), '--db', url]);
      expect(unit.code).toBe(2);
      expect(unit.stderr).toMatch(/unit "parsecs" is not valid for statement_timeout/);
      const typo = await runCli(['policy', 'validate', await policyFile('settings:\n  statement_timout: 30s\n'), '--db', url]);
      expect(typo.code).toBe(4);
      expect(typo.stdout + typo.stderr).toContain('did you mean statement_timeout?');
      // plan says the same, and no longer "already in the target state".
      const plan = await runCli(['plan', '--db', url, '--policy', await policyFile('settings:\n  statement_timout: 30s\n')]);
      expect(plan.code).toBe(4);
      expect(plan.stdout + plan.stderr).not.toContain('already in the target state');
    });
  });
});
