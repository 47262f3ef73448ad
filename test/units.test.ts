import { describe, expect, it } from 'vitest';
import { formatValue, parseValue, sameValue, type ParamMeta } from '../src/pg/units.js';

const statementTimeout: ParamMeta = { name: 'statement_timeout', vartype: 'integer', unit: 'ms', min: 0, max: 2147483647, enumvals: null };
const workMem: ParamMeta = { name: 'work_mem', vartype: 'integer', unit: 'kB', min: 64, max: 2147483647, enumvals: null };
const sharedBuffers: ParamMeta = { name: 'shared_buffers', vartype: 'integer', unit: '8kB', min: 16, max: 1073741823, enumvals: null };
const logStatement: ParamMeta = {
  name: 'log_statement',
  vartype: 'enum',
  unit: null,
  min: null,
  max: null,
  enumvals: ['none', 'ddl', 'mod', 'all'],
};
const jit: ParamMeta = { name: 'jit', vartype: 'bool', unit: null, min: null, max: null, enumvals: null };

describe('parameter values, read the way PostgreSQL reads them', () => {
  it('30s, 30000 and 0.5min are the same statement_timeout', () => {
    expect(sameValue(statementTimeout, '30s', 30000)).toBe(true);
    expect(sameValue(statementTimeout, '0.5min', '30s')).toBe(true);
    expect(sameValue(statementTimeout, '30s', '31s')).toBe(false);
  });

  it('memory units convert to the parameter unit, including 8kB pages', () => {
    expect(parseValue(workMem, '256MB')).toEqual({ ok: true, canonical: '262144' });
    expect(parseValue(sharedBuffers, '128MB')).toEqual({ ok: true, canonical: '16384' });
    expect(formatValue(sharedBuffers, 16384)).toBe('128MB');
    expect(formatValue(statementTimeout, 30000)).toBe('30s');
  });

  it('units are case-sensitive and must fit the parameter, as in PostgreSQL', () => {
    expect(parseValue(statementTimeout, '30S')).toMatchObject({ ok: false, error: expect.stringMatching(/unit "S" is not valid/) });
    expect(parseValue(statementTimeout, '1MB')).toMatchObject({ ok: false });
    expect(parseValue(workMem, '1mb')).toMatchObject({ ok: false });
  });

  it('range, booleans and enums', () => {
    expect(parseValue(workMem, '32kB')).toMatchObject({ ok: false, error: expect.stringMatching(/out of range.*64kB/) });
    expect(parseValue(statementTimeout, -1)).toMatchObject({ ok: false });
    expect(parseValue(jit, 'yes')).toEqual({ ok: true, canonical: 'on' });
    expect(parseValue(jit, 'maybe')).toMatchObject({ ok: false });
    expect(parseValue(logStatement, 'DDL')).toEqual({ ok: true, canonical: 'ddl' });
    expect(parseValue(logStatement, 'some')).toMatchObject({ ok: false, error: expect.stringMatching(/allowed: none, ddl, mod, all/) });
  });
});
