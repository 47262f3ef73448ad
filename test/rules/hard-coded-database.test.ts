import { describe, expect, it } from 'vitest';
import { lintRule, target } from './lint-helper.js';

const rule = 'hard-coded-database';
const sql =
  "ALTER DATABASE codex_memory SET work_mem = '256MB';\nALTER DATABASE codex_memory CONNECTION LIMIT 200;\nALTER ROLE app IN DATABASE codex_memory SET work_mem = '1MB';";

describe(rule, () => {
  it('warns offline, once per database name, listing the other lines', async () => {
    const found = await lintRule(rule, sql);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 1, severity: 'warning' });
    expect(found[0].message).toMatch(/"codex_memory" is hard-coded \(and 2 more statements, lines 2, 3\)/);
    expect(found[0].fix).toMatch(/\$\{database\}/);
  });

  it('is an error when connected to another database', async () => {
    const found = await lintRule(rule, sql, { connected: target({ database: 'codex_memory_staging' }) });
    expect(found.map((d) => d.severity)).toEqual(['error']);
    expect(found[0].message).toMatch(/runs on "codex_memory_staging"/);
  });

  it('passes ${database}, and the target database itself when connected', async () => {
    expect(await lintRule(rule, "ALTER DATABASE ${database} SET work_mem = '256MB';")).toEqual([]);
    expect(await lintRule(rule, sql, { connected: target({ database: 'codex_memory' }) })).toEqual([]);
  });
});
