import path from 'node:path';
import type { Command } from 'commander';
import { findProjectFile } from '../project/find.js';
import type { Project } from '../project/load.js';

/**
 * Environment variables that name a server: set, they beat the project file's db:/service:/env:
 * (PGUSER, PGPASSWORD, PGSSLMODE… only fill in what a conninfo leaves out, as with --db).
 */
export const SERVER_VARIABLES = ['DATABASE_URL', 'PGHOST', 'PGHOSTADDR', 'PGPORT', 'PGDATABASE', 'PGSERVICE'];

/** Commands that never take the project's server: the demo and the embedded server's own commands. */
const OWN_SERVER = new Set(['demo', 'embedded', 'completion']);

let loaded: Project | null = null;
const applied = new Set<string>();

/** The project file in force for this command, once `applyProject` ran. */
export const currentProject = (): Project | null => loaded;
/** Whether option `key` (db, env, policy, dir, …) came from the project file rather than a flag or a default. */
export const fromProject = (key: string): boolean => applied.has(key);

/** A path written in the project file: relative to that file's folder, shown relative to the current directory. */
const fromFile = (project: Project, p: string) => path.relative(process.cwd(), path.resolve(project.dir, p)) || '.';
/** A policy: a path when it looks like one, else a built-in name (ticket-010). */
const policyPath = (project: Project, p: string) => (/[/\\]|\.(ya?ml|json)$/i.test(p) ? fromFile(project, p) : p);

/** Set `key` on `cmd` unless the user gave it (a flag); commander records the source as "config". */
function setDefault(cmd: Command, key: string, value: unknown): void {
  if (value === undefined || !cmd.options.some((o) => o.attributeName() === key)) return;
  const source = cmd.getOptionValueSource(key);
  if (source !== undefined && source !== 'default') return;
  cmd.setOptionValueWithSource(key, value, 'config');
  applied.add(key);
}

/**
 * Before a command runs: find pgharden.yaml (PGHARDEN_PROJECT=FILE names one, =none ignores it)
 * and fill in every option the user did not give. Precedence: flag > environment variable >
 * project file > built-in default. A malformed file is exit 2 before anything runs.
 */
export async function applyProject(program: Command, action: Command, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let top = action;
  while (top.parent && top.parent !== program) top = top.parent;
  // Completion and the schema (what fixes a malformed file) never read it.
  if (top.name() === 'completion' || (top.name() === 'policy' && action.name() === 'schema') || env.PGHARDEN_PROJECT === 'none') return;
  const file = env.PGHARDEN_PROJECT ? path.resolve(env.PGHARDEN_PROJECT) : findProjectFile();
  if (!file) return;
  const project = (await import('../project/load.js')).loadProject(file);
  const c = project.config;
  loaded = project;

  setDefault(program, 'policy', c.policy === undefined ? undefined : policyPath(project, c.policy));
  const named =
    ['db', 'env', 'embedded'].some((k) => program.getOptionValueSource(k) === 'cli') ||
    action.getOptionValueSource('shadow') === 'cli' ||
    SERVER_VARIABLES.some((v) => env[v]) ||
    env.PGHARDEN_EMBEDDED === '1';
  if (!named && !OWN_SERVER.has(top.name())) {
    setDefault(program, 'db', c.db ?? (c.service !== undefined ? `service='${c.service.replace(/[\\']/g, '\\$&')}'` : undefined));
    setDefault(program, 'env', c.env);
  }
  setDefault(action, 'dir', c.migrations?.dir === undefined ? undefined : fromFile(project, c.migrations.dir));
  setDefault(action, 'rule', c.lint?.rules);
  setDefault(action, 'exclude', c.lint?.exclude);
  setDefault(action, 'failOn', c.lint?.fail_on);
  setDefault(action, 'pgVersion', c.lint?.pg_version);

  if (action.optsWithGlobals().verbose) {
    const keys = [...applied].map((k) => (k === 'db' ? 'db (server)' : k));
    process.stderr.write(
      `pgharden: project file ${path.relative(process.cwd(), file) || file}${keys.length ? ` (used: ${keys.join(', ')})` : ' (nothing used: flags and environment override it)'}\n`,
    );
  }
}

/** The project's lint settings that apply wherever lint runs (migrate lint, and the lint of migrate up/down). */
export function projectLintSettings(): { exclude: string[]; severity: Record<string, 'error' | 'warning' | 'off'> } {
  const lint = loaded?.config.lint;
  return { exclude: lint?.exclude ?? [], severity: (lint?.severity ?? {}) as Record<string, 'error' | 'warning' | 'off'> };
}
