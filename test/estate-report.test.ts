import fs from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { quoteIdent } from '../src/pg/quote.js';
import { policyFile, runCli, sql, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';
import { skipPgBouncer, startPgBouncer } from './pgbouncer-helpers.js';

const PASSWORD = 'approver-pw-2';

describe.each(testServers())('a production rollout in the report on $name PostgreSQL', (server) => {
  it('the Markdown and HTML reports show the role exceptions, who approved which plan and who applied it, the promotion chain, the window, the load and PgBouncer', async () => {
    const approver = uniqueName('approver');
    const reporting = uniqueName('reporting');
    await sql(server, `CREATE ROLE ${quoteIdent(approver)} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
    await sql(server, `CREATE ROLE ${quoteIdent(reporting)} LOGIN`);
    const bouncer = skipPgBouncer ? null : await startPgBouncer(server, 'transaction');
    try {
      await withTestDatabase(server, uniqueName('stg'), async (staging) => {
        await withTestDatabase(server, uniqueName('prod'), async (production) => {
          const policy = await policyFile(`
settings: { statement_timeout: 2s }
guard_window: 2s
roles:
  ${reporting}:
    settings: { statement_timeout: 1min }
    reason: nightly reports, TICKET-123
    expires: 2099-03-31
environments:
  staging:    { db: "${urlFor(server, staging)}" }
  production:
    db: "${urlFor(server, production)}"
    requires: [staging]
    approval: required
    window: "Mon-Sun 00:00-24:00 UTC"
    max_load: { active_connections: 50%, sample: 1s }
${bouncer ? `    poolers: ["${bouncer.adminUrl}"]` : ''}
`);
          const run = (env: string) =>
            runCli(['run', '--env', env, '--policy', policy, '--yes', '--no-probes', '--window', '2s', '--json']);
          const staged = await run('staging');
          expect(staged.code, staged.stderr).toBe(0);

          const asApprover = new URL(urlFor(server, production));
          asApprover.username = approver;
          asApprover.password = PASSWORD;
          const approved = await runCli(['approve', '--db', asApprover.toString(), '--policy', policy, '--name', 'Alice DBA', '--json']);
          expect(approved.code, approved.stderr).toBe(0);

          const promoted = await run('production');
          expect(promoted.code, promoted.stderr).toBe(0);
          const md = await fs.readFile(promoted.json.reports.md, 'utf8');
          const html = await fs.readFile(promoted.json.reports.html, 'utf8');
          const applier = decodeURIComponent(new URL(server.url).username) || 'postgres';
          const hash = approved.json.approval.planHash.slice(0, 12);

          const section = (title: string) => md.split(`## ${title}\n`)[1]?.split('\n## ')[0] ?? '';
          expect(section('Approval')).toContain('production (approval: required, four eyes)');
          expect(section('Approval')).toContain(
            `Approved by: ${approver} (Alice DBA), approval #${approved.json.approval.id} of plan ${hash}`,
          );
          expect(section('Approval')).toContain(`Applied by (database login): ${applier}`);
          expect(section('Promotion')).toContain(`staging: run ${staged.json.runId} passed`);
          expect(section('Promotion')).toContain(`on ${staging}`);
          expect(section('Declared role values and exceptions')).toContain(
            `| ${reporting} | statement_timeout = 1min | yes | nightly reports, TICKET-123 | 2099-03-31 |`,
          );
          expect(section('Maintenance window')).toContain('inside Mon-Sun 00:00-24:00 UTC');
          expect(section('Traffic before the change (max_load)')).toMatch(
            /\d+ active connection\(s\) \(max_load \d+\), [\d.]+ transactions\/s over 1s: a low-traffic period/,
          );
          if (bouncer)
            expect(section('PgBouncer')).toMatch(
              /after apply: PgBouncer postgres:\/\/.*RECONNECT|no database of it points at this database/,
            );

          // The HTML report carries the same sections (escaped text, no scripts).
          for (const text of [
            `${approver} (Alice DBA), approval #${approved.json.approval.id} of plan ${hash}`,
            `staging: run ${staged.json.runId} passed`,
            'nightly reports, TICKET-123',
            '2099-03-31',
            applier,
            'inside Mon-Sun 00:00-24:00 UTC',
          ]) {
            expect(html).toContain(text);
          }
          expect(html).toMatch(/<h2>Declared role values and exceptions<\/h2><table class="exceptions">.*<td>yes<\/td>/s);
        });
      });
    } finally {
      await bouncer?.stop();
      await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(approver)}`);
      await sql(server, `DROP ROLE IF EXISTS ${quoteIdent(reporting)}`);
    }
  });
});
