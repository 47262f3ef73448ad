import type { ParamContext } from './contexts.js';
import type { SettingRow } from '../pg/catalog.js';
import type { Statement } from './sql-file.js';

export type Severity = 'error' | 'warning';

/** One problem, where it is, and what to write instead. */
export interface Diagnostic {
  rule: string;
  severity: Severity;
  file: string;
  line: number;
  col: number;
  message: string;
  fix?: string;
}

/** A parsed migration file as the rules see it. */
export interface LintFile {
  path: string;
  kind: 'forward' | 'rollback';
  /** The migration number; null for a file outside the `NNN_name.sql` convention. */
  version: number | null;
  statements: Statement[];
  /** The file's text (for `-- pgharden-lint-ignore` comments). */
  text?: string;
  /** For a forward migration: its parsed rollback file, or null when there is none. Undefined outside the convention. */
  rollback?: LintFile | null;
}

/** What the linter knows about the target database when connected. */
export interface LintTarget {
  database: string;
  superuser: boolean;
  /** SET privilege per parameter the files touch (superuser, or GRANT SET ON PARAMETER on 15+). */
  canSet: Record<string, boolean>;
  /** Database-level values now (ALTER DATABASE d SET), by parameter name. */
  databaseValues: Map<string, string>;
  connectionLimit: number;
  settings: Map<string, SettingRow>;
  /** Migrations already applied: their rollback's "prior value" is not what the database holds now. */
  applied: Set<number>;
}

/** Parameter contexts by lower-cased name, from the live pg_settings or a built-in table. */
export interface LintCatalog {
  /** e.g. "live pg_settings, PostgreSQL 18.4" or "built-in table for PostgreSQL 18". */
  description: string;
  /** The PostgreSQL major the rules judge for: the server's when connected, --pg-version offline. */
  major: number;
  /** Undefined: not a parameter this server knows. */
  contextOf(name: string): ParamContext | undefined;
  names(): string[];
}

export interface LintContext {
  catalog: LintCatalog;
  /** Null offline. */
  target: LintTarget | null;
}

/** What a rule reports; the engine adds the rule name, file and default severity. */
export interface Finding {
  /** Another file than the one checked (a pair rule pointing into the rollback file). */
  file?: string;
  line: number;
  col: number;
  message: string;
  fix?: string;
  severity?: Severity;
}

/** One lint rule (one file under src/migrate/rules/, documented in docs/migrate.md). */
export interface Rule {
  name: string;
  /** Default severity; a rule may lower or raise it per finding (e.g. warning offline, error connected). */
  severity: Severity;
  summary: string;
  check(file: LintFile, ctx: LintContext): Finding[];
}

/** A finding at a statement's start. */
export const at = (stmt: Statement, message: string, extra: Partial<Finding> = {}): Finding => ({
  line: stmt.line,
  col: stmt.col,
  message,
  ...extra,
});
