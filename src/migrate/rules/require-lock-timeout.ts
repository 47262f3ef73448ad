import { hasOption, nodesOf } from '../ast.js';
import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';
import type { Statement } from '../sql-file.js';
import { transactionEffect } from '../transactional.js';

const ACCESS_EXCLUSIVE_MODE = 8;
const DROPPED_RELATIONS = new Set(['OBJECT_TABLE', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_VIEW', 'OBJECT_SEQUENCE']);

const relname = (r: any): string | null => (r?.relname ? (r.schemaname ? `${r.schemaname}.${r.relname}` : r.relname) : null);

/** What the statement names, and how to call it: ALTER VIEW is not "a table", DROP INDEX locks the index's table. */
interface Target {
  name: string;
  label: string;
}

const OBJECT_LABEL: Record<string, (n: string) => string> = {
  OBJECT_TABLE: (n) => `table ${n}`,
  OBJECT_VIEW: (n) => `view ${n}`,
  OBJECT_MATVIEW: (n) => `materialized view ${n}`,
  OBJECT_SEQUENCE: (n) => `sequence ${n}`,
  OBJECT_INDEX: (n) => `the table of index ${n}`,
  OBJECT_FOREIGN_TABLE: (n) => `foreign table ${n}`,
};
const labelled = (kind: string | undefined, name: string | null): Target[] =>
  name ? [{ name, label: (OBJECT_LABEL[kind ?? 'OBJECT_TABLE'] ?? OBJECT_LABEL.OBJECT_TABLE)(name) }] : [];

/** Relations an ACCESS EXCLUSIVE statement locks, or [] when it takes a weaker lock (or none). */
function accessExclusiveTargets(stmt: Statement): Target[] {
  const n = stmt.node;
  const tables = (rels: any) => nodesOf(rels, 'RangeVar').flatMap((r: any) => labelled('OBJECT_TABLE', relname(r)));
  switch (stmt.type) {
    case 'AlterTableStmt':
      return labelled(n.objtype, relname(n.relation));
    case 'RenameStmt':
      return labelled(
        n.renameType === 'OBJECT_COLUMN' || n.renameType === 'OBJECT_TABCONSTRAINT' ? n.relationType : n.renameType,
        relname(n.relation),
      );
    case 'TruncateStmt':
      return tables(n.relations);
    case 'LockStmt':
      return (n.mode ?? ACCESS_EXCLUSIVE_MODE) === ACCESS_EXCLUSIVE_MODE ? tables(n.relations) : [];
    case 'ClusterStmt':
      return labelled('OBJECT_TABLE', relname(n.relation));
    case 'VacuumStmt':
      return hasOption(n.options, 'full') ? tables(n.rels) : [];
    case 'RefreshMatViewStmt':
      return n.concurrent ? [] : labelled('OBJECT_MATVIEW', relname(n.relation));
    case 'DropStmt':
      if (n.concurrent || !DROPPED_RELATIONS.has(n.removeType)) return [];
      return (n.objects ?? []).flatMap((o: any) => labelled(n.removeType, (o.List?.items ?? []).map((i: any) => i.String?.sval).join('.')));
    default:
      return [];
  }
}

/** Relations created earlier in the file: nobody else can hold a lock on them yet. */
function createdRelation(stmt: Statement): string | null {
  if (stmt.type === 'CreateStmt' || stmt.type === 'CreateTableAsStmt') return relname(stmt.node.relation ?? stmt.node.into?.rel);
  return null;
}

export const requireLockTimeout: Rule = {
  name: 'require-lock-timeout',
  severity: 'warning',
  summary:
    'DDL that takes an ACCESS EXCLUSIVE lock on an existing table, with no lock_timeout set earlier in the file (one finding per file)',
  check(file) {
    // One finding per file, at the first such statement, listing them all: the fix is one SET at the top.
    const unguarded: { stmt: Statement; targets: Target[] }[] = [];
    const created = new Set<string>();
    // SET LOCAL lasts until the end of the file's transaction; SET until the end of the session.
    let session = false;
    let local = false;
    for (const stmt of file.statements) {
      const change = settingChange(stmt);
      if (change?.name === 'lock_timeout' && change.scope === 'session') {
        const on = change.action === 'set' && change.value !== '0';
        if (change.local) local = on;
        else session = on;
      }
      if (transactionEffect(stmt) === 'end') local = false;
      const lockTimeoutSet = session || local;
      const made = createdRelation(stmt);
      if (made) created.add(made);
      const existing = accessExclusiveTargets(stmt).filter((r) => !created.has(r.name));
      if (lockTimeoutSet || !existing.length) continue;
      unguarded.push({ stmt, targets: existing });
    }
    if (!unguarded.length) return [];
    const what = unguarded.map((u) => `${u.targets.map((t) => t.label).join(', ')} (line ${u.stmt.line})`);
    const shown = what.slice(0, 6).join(', ') + (what.length > 6 ? ` and ${what.length - 6} more` : '');
    const one = unguarded.length === 1;
    const findings: Finding[] = [
      at(
        unguarded[0].stmt,
        `${one ? 'this statement takes an ACCESS EXCLUSIVE lock' : `${unguarded.length} statements take ACCESS EXCLUSIVE locks`} with no lock_timeout: ${shown}; behind one long transaction ${one ? 'it waits' : 'each waits'}, and every query on ${one ? 'that relation' : 'those relations'} queues behind it`,
        {
          fix: "SET lock_timeout = '5s'; at the top of the file (or SET LOCAL inside its transaction), and retry on timeout; pgharden migrate up sets it for you",
        },
      ),
    ];
    return findings;
  },
};
