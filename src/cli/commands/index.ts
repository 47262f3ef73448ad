import type { Command } from 'commander';

/**
 * Every command, with the one line `pgharden --help` lists, and how to load it. A command's
 * module (and what it pulls in: pg, zod, yaml, prom-client, libpg-query…) is imported only when
 * that command runs: a Nagios check run every minute must not pay for all eighteen.
 * test/cli-conventions.test.ts checks that each summary equals the module's own description.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load: () => Promise<{ register(program: Command): void }>;
}

export const COMMANDS: CommandEntry[] = [
  {
    name: 'plan',
    summary: 'show what apply would change, the rollback SQL, and findings (changes nothing)',
    load: () => import('./plan.js'),
  },
  {
    name: 'preflight',
    summary: 'check privileges, headroom and workload against the policy, and capture the baseline',
    load: () => import('./preflight.js'),
  },
  {
    name: 'apply',
    summary: 'preflight, back up the prior values, then apply the policy (new sessions only)',
    load: () => import('./apply.js'),
  },
  {
    name: 'approve',
    summary: 'show the plan and record an approval of exactly it (four eyes for environments with approval: required)',
    load: () => import('./approve.js'),
  },
  { name: 'verify', summary: 'prove the policy is in force for new sessions, for every login role', load: () => import('./verify.js') },
  { name: 'rollback', summary: 'restore exactly the values captured before apply, and prove it', load: () => import('./rollback.js') },
  {
    name: 'status',
    summary: 'the database against the policy, the last runs, and sessions still on old settings',
    load: () => import('./status.js'),
  },
  {
    name: 'run',
    summary: 'the whole runbook: preflight + baseline → backup → apply → verify → guard window → report, with automatic rollback',
    load: () => import('./run.js'),
  },
  {
    name: 'guard',
    summary: 'watch the latest applied run for a window and roll it back when a trigger fires',
    load: () => import('./guard.js'),
  },
  {
    name: 'report',
    summary: 'the report of a run: success criteria ticked by measurements, before/after, timeline',
    load: () => import('./report.js'),
  },
  {
    name: 'monitor',
    summary: "watch the database against the policy's alert thresholds: live view, JSON lines, Prometheus, webhook, Nagios check",
    load: () => import('./monitor.js'),
  },
  {
    name: 'loadtest',
    summary: 'load the database like pgbench, but count every error by SQLSTATE and keep going',
    load: () => import('./loadtest.js'),
  },
  {
    name: 'diagnose',
    summary: "the runbook's Troubleshooting Guide: queries near the timeout, connections against the limit, idle transactions",
    load: () => import('./diagnose.js'),
  },
  {
    name: 'alerts',
    summary: "the policy's alert thresholds for other monitoring systems, and the alerts monitor --record kept",
    load: () => import('./alerts.js'),
  },
  { name: 'render', summary: 'write the plan as psql migration files (forward and rollback)', load: () => import('./render.js') },
  {
    name: 'migrate',
    summary: 'run a folder of numbered migrations (NNN_name.sql + NNN_name_rollback.sql) safely, and lint it',
    load: () => import('./migrate.js'),
  },
  {
    name: 'demo',
    summary: 'the whole story on the embedded PostgreSQL: plan → apply → verify → rollback',
    load: () => import('./demo.js'),
  },
  {
    name: 'embedded',
    summary: 'see or stop the embedded PostgreSQL that --embedded, demo and a terminal without --db use',
    load: () => import('./embedded.js'),
  },
  {
    name: 'fleet',
    summary: 'roll the policy across many databases in waves (canary first), with workers sharing the rollout through a control database',
    load: () => import('./fleet.js'),
  },
  {
    name: 'policy',
    summary: 'write and check policy files: the JSON Schema for editors, and validation',
    load: () => import('./policy.js'),
  },
  { name: 'completion', summary: 'print a shell completion script (bash, zsh or fish)', load: () => import('./completion.js') },
  {
    name: 'serve',
    summary: 'a live dashboard in the browser: the current run as it progresses, the monitor, and past runs with their reports',
    load: () => import('./serve.js'),
  },
  {
    name: 'doctor',
    summary:
      'list what pgharden left behind (probe roles, rehearsal databases, stray sessions, unfinished runs) with the command that removes each',
    load: () => import('./doctor.js'),
  },
];

/** Global options that take a value: the word after them is not a command name. */
const VALUE_OPTIONS = new Set(['--db', '--policy', '--env']);

/** The command named on the command line (`pgharden --db X status`, `pgharden help status`), or null. */
export function commandNamed(args: string[]): CommandEntry | null {
  const words = args.filter((a, i) => !a.startsWith('-') && !VALUE_OPTIONS.has(args[i - 1]));
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((c) => c.name === name) ?? null;
}
