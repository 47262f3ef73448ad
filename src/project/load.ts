import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { UsageError } from '../errors.js';
import { parseConnString } from '../pg/conninfo.js';
import { RULES } from '../migrate/rules/index.js';
import { didYouMean } from '../suggest.js';
import { projectSchema, type ProjectConfig } from './schema.js';

export interface Project {
  /** The file, as found (absolute). */
  file: string;
  /** Its folder: relative paths in it are relative to this. */
  dir: string;
  config: ProjectConfig;
}

/** Read and check a project file. Anything wrong is bad usage (exit 2) naming the file and the key. */
export function loadProject(file: string): Project {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`project file ${file}: cannot read it: ${(err as Error).message}`);
  }
  const doc = YAML.parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length)
    throw invalid(
      file,
      doc.errors.map((e) => e.message.split('\n')[0]),
    );
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 20 }) ?? {};
  } catch (err) {
    throw invalid(file, [(err as Error).message]);
  }
  const result = projectSchema.safeParse(raw);
  if (!result.success)
    throw invalid(
      file,
      result.error.issues.map((i) => describe(i, raw)),
    );
  // A conninfo that cannot be parsed is named here (the file and the key), not later as "--db".
  if (result.data.db !== undefined) {
    try {
      parseConnString(result.data.db, 'db');
    } catch (err) {
      throw invalid(file, [(err as Error).message]);
    }
  }
  return { file, dir: path.dirname(file), config: result.data };
}

const invalid = (file: string, problems: string[]) =>
  new UsageError(`project file ${file} is invalid (nothing was done):\n  ${problems.join('\n  ')}`);

const KEYS: Record<string, string[]> = {
  '': Object.keys(projectSchema.shape),
  migrations: ['dir'],
  lint: ['rules', 'exclude', 'severity', 'fail_on', 'pg_version'],
  rules: RULES.map((r) => r.name),
};

function describe(
  issue: { code: string; path: PropertyKey[]; message: string; keys?: string[]; values?: unknown[] },
  raw: unknown,
): string {
  const at =
    issue.path
      .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
      .join('')
      .replace(/^\./, '') || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const allowed = KEYS[issue.path.map(String).join('.')] ?? [];
    return `${at}: unknown key${issue.keys!.length > 1 ? 's' : ''} ${issue.keys!.map((k) => JSON.stringify(k) + didYouMean(k, allowed)).join(', ')}; allowed keys: ${allowed.join(', ')}`;
  }
  if (issue.code === 'invalid_value' && issue.values) {
    const value = issue.path.reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      raw,
    );
    const near = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : '';
    return `${at}: ${JSON.stringify(value)} is not allowed${near}; allowed: ${issue.values.join(', ')}`;
  }
  if (issue.code === 'invalid_key' && issue.path[0] === 'lint') return `${at}: not a rule name; rules: ${KEYS.rules.join(', ')}`;
  return `${at}: ${issue.message}`;
}
