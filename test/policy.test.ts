import { describe, expect, it } from 'vitest';
import { PolicyError } from '../src/errors.js';
import { loadPolicy } from '../src/policy/load.js';
import { parsePolicy } from '../src/policy/parse.js';

describe('policy', () => {
  it('the built-in ticket-010 policy encodes the runbook table', async () => {
    const policy = await loadPolicy();
    expect(policy.settings).toEqual({
      statement_timeout: '30s',
      idle_in_transaction_session_timeout: '60s',
      work_mem: '256MB',
      log_min_duration_statement: '1s',
    });
    expect(policy.connection_limit).toBe(200);
    expect(policy.alerts.long_query).toEqual({ over: 25_000, severity: 'critical' });
    expect(policy.alerts.connections.over).toBe(0.8);
    expect(policy.rollback_triggers).toMatchObject({ timeout_errors_increase: 0.05, latency_degradation: 0.2, pool_exhaustion: true });
    expect(policy.guard_window).toBe(300_000);
  });

  it('names the key, the value and what is allowed', () => {
    const problems = (yaml: string) => {
      try {
        parsePolicy(yaml, 'p.yaml');
      } catch (err) {
        expect(err).toBeInstanceOf(PolicyError);
        return (err as PolicyError).problems;
      }
      throw new Error('expected a PolicyError');
    };
    expect(problems('guard_window: 5 minutes\n')).toEqual([expect.stringMatching(/^guard_window: "5 minutes" — not a duration/)]);
    expect(problems('rollback_triggers:\n  latency_degradation: 20\n')[0]).toMatch(/rollback_triggers\.latency_degradation: 20/);
    expect(problems('connection_limit: -5\n')[0]).toMatch(/connection_limit: -5 — must be -1/);
    expect(problems('settings:\n  work_mem: 1MB\nsettings:\n  work_mem: 2MB\n')[0]).toMatch(/not valid YAML|Map keys must be unique/);
    expect(problems('rollback_triggers:\n  checks:\n    - name: orders\n')[0]).toMatch(/exactly one of sql: or command:/);
  });
});
