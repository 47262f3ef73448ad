import type { Statement } from './sql-file.js';

/**
 * Role names a migration's statements mention (CREATE/ALTER/DROP ROLE, GRANT … TO, memberships).
 * Roles are shared by every database of the server, so `migrate check` fingerprints only these,
 * not whatever else happens to come and go on the server meanwhile.
 */
export function rolesNamed(statements: Statement[]): string[] {
  const names = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (!node || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'RoleSpec' && (value as { rolename?: string }).rolename) names.add((value as { rolename: string }).rolename);
      else if (key === 'CreateRoleStmt' && (value as { role?: string }).role) names.add((value as { role: string }).role);
      else if (key === 'GrantRoleStmt')
        for (const p of (value as { granted_roles?: any[] }).granted_roles ?? [])
          if (p.AccessPriv?.priv_name) names.add(p.AccessPriv.priv_name);
      walk(value);
    }
  };
  for (const s of statements) walk({ [s.type]: s.node });
  return [...names].sort();
}
