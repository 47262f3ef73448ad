import YAML from 'yaml';
import { z } from 'zod';
import { PolicyError } from '../errors.js';
import { builtinContexts, DEFAULT_MAJOR } from '../migrate/contexts.js';
import { closest, didYouMean } from '../suggest.js';
import { policySchema, type Policy } from './schema.js';

/** Parse and validate a policy's YAML text; every problem is named with where it is (exit 2). */
export function parsePolicy(text: string, source: string): Policy {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) {
    const problems = doc.errors.map((e) => `${source}: ${e.message.split('\n')[0]}`);
    throw new PolicyError(`policy ${source} is not valid YAML:\n  ${problems.join('\n  ')}`, problems);
  }
  const raw = toPlainData(doc, source) ?? {};
  const result = policySchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => describeIssue(issue, raw));
    throw new PolicyError(`policy ${source} is invalid:\n  ${problems.join('\n  ')}`, problems);
  }
  return { ...result.data, source };
}

/** Aliases a policy may use: a few anchors shared between settings, never a "billion laughs". */
const MAX_ALIASES = 100;

/**
 * The document as plain data. The YAML library throws (a ReferenceError) for an alias with no
 * anchor and for alias expansion past MAX_ALIASES; a key that is itself a map or list would
 * be stringified with a process warning. All three are a bad policy, said as such (exit 2).
 */
function toPlainData(doc: YAML.Document, source: string): unknown {
  const problems: string[] = [];
  YAML.visit(doc, {
    Pair(_, pair) {
      if (YAML.isCollection(pair.key))
        problems.push(
          `${source}: a key must be a plain name, not a ${YAML.isMap(pair.key) ? 'map' : 'list'} (${String(pair.key).slice(0, 40)})`,
        );
    },
  });
  if (!problems.length) {
    try {
      return doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (err) {
      const message = (err as Error).message;
      problems.push(
        /excessive alias count/i.test(message)
          ? `${source}: aliases expand to too much data (more than ${MAX_ALIASES} alias expansions: a YAML "billion laughs"?)`
          : /unresolved alias/i.test(message)
            ? `${source}: ${message.replace(/^Unresolved alias/, 'an alias (*name) refers to no anchor (&name)')}`
            : `${source}: ${message}`,
      );
    }
  }
  throw new PolicyError(`policy ${source} is not valid YAML:\n  ${problems.join('\n  ')}`, problems);
}

/** "key: value — what is wrong, what is allowed", for one schema issue. */
function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const at = clip(issue.path.map(String).join('.')) || '(top level)';
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(issue.path);
    return (
      `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => clip(JSON.stringify(k)) + keyHint(k, issue.path, allowed)).join(', ')}` +
      (allowed.length ? `; allowed keys: ${allowed.join(', ')}` : '')
    );
  }
  if (issue.code === 'invalid_key') {
    return `${at}: not a parameter name — letters, digits, _ and $, with at most one dot for an extension's own (myapp.flag), at most 200 characters`;
  }
  const value = valueAt(raw, issue.path);
  const shown = value === undefined ? 'missing' : clip(show(value));
  if (issue.code === 'invalid_value' && 'values' in issue) {
    return `${at}: ${shown} is not allowed; allowed values: ${issue.values.join(', ')}`;
  }
  return `${at}: ${shown} — ${issue.message}`;
}

/** " (did you mean connection_limit?)", or for a parameter name at the top level, where it belongs. */
function keyHint(key: string, at: PropertyKey[], allowed: string[]): string {
  const near = didYouMean(key, allowed);
  if (near || at.length) return near;
  const params = builtinContexts(DEFAULT_MAJOR).keys();
  const param = key.toLowerCase() === key && builtinContexts(DEFAULT_MAJOR).has(key) ? key : closest(key, params);
  return param ? ` (a parameter goes under settings: — did you mean settings.${param}?)` : '';
}

/** JSON for a message; a recursive alias (`&a [*a]`) makes a cycle that JSON cannot write. */
function show(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Array.isArray(value) ? '[a list that contains itself]' : '{a map that contains itself}';
  }
}

/** A value or key shown in a message: long ones cut, so a problem stays on one line. */
function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

function valueAt(raw: unknown, keys: PropertyKey[]): unknown {
  return keys.reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined), raw);
}

/** The keys an object in the schema accepts, found by walking through defaults. */
function allowedKeys(keys: PropertyKey[]): string[] {
  let schema: z.ZodType = policySchema;
  for (const key of [...keys, null]) {
    for (let i = 0; i < 5 && !(schema instanceof z.ZodObject); i++) {
      const inner = (schema as unknown as { def: { innerType?: z.ZodType; in?: z.ZodType } }).def;
      if (!inner?.innerType && !inner?.in) break;
      schema = (inner.innerType ?? inner.in)!;
    }
    if (!(schema instanceof z.ZodObject)) return [];
    if (key === null) return Object.keys(schema.shape);
    schema = schema.shape[key as string];
  }
  return [];
}
