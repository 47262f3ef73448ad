import { z } from 'zod';
import { BUILTIN_MAJORS } from '../migrate/contexts.js';
import { RULES } from '../migrate/rules/index.js';

const ruleName = z.enum(RULES.map((r) => r.name) as [string, ...string[]]);
const text = z.string().min(1, 'is empty');

/**
 * `pgharden.yaml`: the defaults of a team's repository, so no one repeats flags. Every key is
 * optional; flags and environment variables override each (README "Project file").
 */
export const projectSchema = z
  .strictObject({
    policy: text.optional().describe('policy file (a path relative to this file) or a built-in policy name; --policy overrides it'),
    db: text
      .optional()
      .describe(
        'default server: a postgres:// URL or a keyword/value conninfo string (keep passwords in ~/.pgpass or PGPASSWORD); --db, --env, --embedded, DATABASE_URL and PGHOST/PGPORT/PGDATABASE/PGSERVICE override it',
      ),
    service: text.optional().describe('default server as a pg_service.conf entry (the same as db: "service=NAME")'),
    env: text
      .optional()
      .describe(
        "default environment of the policy's environments: (instead of db:/service:); --env, --db, --embedded and the server-naming variables override it",
      ),
    migrations: z
      .strictObject({
        dir: text.optional().describe('the migrations folder of pgharden migrate (relative to this file); --dir overrides it'),
      })
      .optional(),
    lint: z
      .strictObject({
        rules: z.array(ruleName).optional().describe('run only these rules (pgharden migrate lint --rule replaces the list)'),
        exclude: z
          .array(ruleName)
          .optional()
          .describe('never run these rules, in migrate lint and in the lint migrate up/down run first (--exclude replaces the list)'),
        severity: z
          .partialRecord(ruleName, z.enum(['error', 'warning', 'off']))
          .optional()
          .describe(
            'severity of a rule\'s findings, everywhere lint runs: "warning" lets migrate up proceed, "error" makes it block, "off" is the same as exclude',
          ),
        fail_on: z
          .enum(['error', 'warning'])
          .optional()
          .describe('migrate lint exits 4 on errors only, or on warnings too (--fail-on overrides it)'),
        pg_version: z
          .union(BUILTIN_MAJORS.map((m) => z.literal(m)) as unknown as [z.ZodLiteral<number>, z.ZodLiteral<number>])
          .optional()
          .describe('PostgreSQL major of the built-in parameter table for offline lint (--pg-version overrides it)'),
      })
      .optional(),
    fleet: z.unknown().optional().describe('reserved for the fleet inventory (pgharden fleet); read by no command yet'),
  })
  .superRefine((p, ctx) => {
    const targets = (['db', 'service', 'env'] as const).filter((k) => p[k] !== undefined);
    if (targets.length > 1)
      ctx.addIssue({ code: 'custom', path: [targets[1]], message: `${targets.join(' and ')} name two default targets: keep one` });
    const both = (p.lint?.rules ?? []).filter((r) => p.lint?.exclude?.includes(r));
    if (both.length)
      ctx.addIssue({
        code: 'custom',
        path: ['lint', 'exclude'],
        message: `${both.join(', ')} ${both.length > 1 ? 'are' : 'is'} also in lint.rules: keep one`,
      });
  });

export type ProjectConfig = z.infer<typeof projectSchema>;

/** The JSON Schema of pgharden.yaml (committed as policies/project.schema.json; a test keeps it current). */
export const PROJECT_SCHEMA_FILE = 'policies/project.schema.json';
export function projectJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(projectSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    $schema: schema.$schema,
    $id: 'https://github.com/pgharden/pgharden/policies/project.schema.json',
    title: 'pgharden project file (pgharden.yaml)',
    description:
      'Defaults for every pgharden command run in this directory or below: policy, server, environment, migrations folder, lint settings. Flags and environment variables override them.',
    ...Object.fromEntries(Object.entries(schema).filter(([k]) => k !== '$schema')),
  };
}
