import { hasOption, nodesOf } from '../ast.js';
import { at, type Finding, type Rule } from '../lint-types.js';
import { settingChange } from '../settings.js';
import type { Statement } from '../sql-file.js';
import { transactionEffect } from '../transactional.js';

const ACCESS_EXCLUSIVE_MODE = 8;
const DROPPED_RELATIONS = new Set(['OBJECT_TABLE', 'OBJECT_MATVIEW', 'OBJECT_INDEX', 'OBJECT_VIEW', 'OBJECT_SEQUENCE']);

const relname = (r: any): string | null => (r?.relname ? (r.schemaname ? `${r.schemaname}.${r.relname}` : r.relname) : null);

/** Relations an ACCESS EXCLUSIVE statement locks, or [] when it takes a weaker lock (or none). */
function accessExclusiveTargets(stmt: Statement): string[] {
  const n = stmt.node;
  switch (stmt.type) {
    case 'AlterTableStmt': return [relname(n.relation)].filter(Boolean) as string[];
    case 'RenameStmt': return [relname(n.relation)].filter(Boolean) as string[];
    case 'TruncateStmt': return nodesOf(n.relations, 'RangeVar').map(relname) as string[];
    case 'LockStmt': return (n.mode ?? ACCESS_EXCLUSIVE_MODE) === ACCESS_EXCLUSIVE_MODE ? nodesOf(n.relations, 'RangeVar').map(relname) as string[] : [];
    case 'ClusterStmt': return [relname(n.relation)].filter(Boolean) as string[];
    case 'VacuumStmt': return hasOption(n.options, 'full') ? nodesOf(n.rels, 'RangeVar').map(relname) as string[] : [];
    case 'RefreshMatViewStmt': return n.concurrent ? [] : [relname(n.relation)].filter(Boolean) as string[];
    case 'DropStmt':
      if (n.concurrent || !DROPPED_RELATIONS.has(n.removeType)) return [];
      return (n.objects ?? []).map((o: any) => (o.List?.items ?? []).map((i: any) => i.String?.sval).join('.'));
    default: return [];
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
  summary: 'DDL that takes an ACCESS EXCLUSIVE lock on an existing table, with no lock_timeout set earlier in the file',
  check(file) {
    const findings: Finding[] = [];
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
      const existing = accessExclusiveTargets(stmt).filter((r) => !created.has(r));
      if (lockTimeoutSet || !existing.length) continue;
      findings.push(at(stmt,
        `this takes an ACCESS EXCLUSIVE lock on ${existing.join(', ')} with no lock_timeout: behind one long transaction it waits, and every query on the table queues behind it`,
        { fix: "SET lock_timeout = '5s'; (or SET LOCAL inside the transaction) before this statement, and retry on timeout" }));
    }
    return findings;
  },
};
