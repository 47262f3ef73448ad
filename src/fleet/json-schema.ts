import { z } from 'zod';
import { inventorySchema } from './inventory.js';

/** Where the committed schema is published, beside the policy's. */
export const FLEET_SCHEMA_FILE = 'policies/fleet.schema.json';

/**
 * The JSON Schema of a fleet inventory, generated from the zod schema so editors complete keys and
 * flag typos. Input side: durations and shares are strings here. What JSON Schema cannot say
 * (no password in a connection string, env: names an environment of the policy) is checked by
 * `pgharden fleet plan`.
 */
export function inventoryJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(inventorySchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://github.com/pgharden/pgharden/policies/fleet.schema.json',
    title: 'pgharden fleet inventory',
    description:
      'The databases a fleet rollout hardens (targets, discover), in which waves, how many at once, and when it stops. No passwords: use ~/.pgpass, PGPASSWORD or a service file.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
