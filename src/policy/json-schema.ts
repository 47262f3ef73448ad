import { z } from 'zod';
import { policySchema } from './schema.js';

/** Where the committed schema is published; shipped policies point editors at it. */
export const POLICY_SCHEMA_FILE = 'policies/policy.schema.json';

/**
 * The JSON Schema of a policy file, generated from the zod schema (the one source of truth) so
 * editors (yaml-language-server, VS Code, IntelliJ) complete keys and flag typos. It describes
 * the input side: durations and percentages are strings here; their syntax and the setting
 * values (units, ranges) are checked by `pgharden policy validate`, the last against pg_settings.
 */
export function policyJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(policySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://github.com/pgharden/pgharden/policies/policy.schema.json',
    title: 'pgharden policy',
    description:
      'Database-level settings, connection limit, alert thresholds and rollback triggers applied by pgharden. Setting values are checked against pg_settings by `pgharden policy validate --db URL`.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
