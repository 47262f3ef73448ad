import type { LintFile } from './lint-types.js';
import { connectionLimit, settingChange, type SettingChange } from './settings.js';
import type { Statement } from './sql-file.js';

/** A change that outlives the migration's session and so needs undoing in the rollback. */
export interface PersistentChange {
  /** Matches a forward change with the rollback statement that undoes it. */
  key: string;
  /** How messages name it: `statement_timeout`, `statement_timeout for role app`, `CONNECTION LIMIT`. */
  label: string;
  stmt: Statement;
  setting: SettingChange | null;
  limit: number | null;
}

/** ALTER DATABASE|ROLE … SET|RESET and CONNECTION LIMIT statements of a file, keyed by what they change. */
export function persistentChanges(file: LintFile): PersistentChange[] {
  const out: PersistentChange[] = [];
  for (const stmt of file.statements) {
    const setting = settingChange(stmt);
    if (setting && (setting.scope === 'database' || setting.scope === 'role')) {
      const who = setting.scope === 'role' ? ` for role ${setting.role ?? 'ALL'}${setting.database ? ' in the database' : ''}` : '';
      out.push({
        key: `${setting.scope}:${setting.role ?? ''}:${Boolean(setting.database)}:${setting.name}`,
        label: setting.name + who,
        stmt,
        setting,
        limit: null,
      });
    }
    const cl = connectionLimit(stmt);
    if (cl) out.push({ key: 'connection_limit', label: 'CONNECTION LIMIT', stmt, setting: null, limit: cl.limit });
  }
  return out;
}
