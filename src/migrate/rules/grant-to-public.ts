import { at, type Finding, type Rule } from '../lint-types.js';

export const grantToPublic: Rule = {
  name: 'grant-to-public',
  severity: 'warning',
  summary: 'GRANT … TO PUBLIC: every role, present and future, gets the privilege',
  check(file) {
    const findings: Finding[] = [];
    for (const stmt of file.statements) {
      if (stmt.type !== 'GrantStmt' || !stmt.node.is_grant) continue; // REVOKE … FROM PUBLIC is the cure
      if (!(stmt.node.grantees ?? []).some((g: any) => g.RoleSpec?.roletype === 'ROLESPEC_PUBLIC')) continue;
      findings.push(
        at(stmt, 'this grants to PUBLIC: every role that exists now or is created later gets the privilege', {
          fix: 'grant to a named group role (CREATE ROLE app_readers NOLOGIN; GRANT … TO app_readers) and add members to it',
        }),
      );
    }
    return findings;
  },
};
