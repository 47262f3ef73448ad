import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyFile, runCli, snapshot, sql, tempDir, testServers, uniqueName, urlFor, withTestDatabase } from './helpers.js';

/**
 * The run-level event stream as a consumer sees it: `--events FILE` (JSON lines) and the journal
 * (pgharden.events) of real runs, in emission order, with the numbers the dashboard draws.
 */
const POLICY = `
settings:
  statement_timeout: 10s
  idle_in_transaction_session_timeout: 20s
  work_mem: 8MB
connection_limit: 20
`;
/** A check that passes before the change and fails once work_mem is 8MB: the checks trigger rolls the run back. */
const BREAKS = `${POLICY}rollback_triggers:
  checks:
    - name: report needs more memory
      sql: SELECT 1 / (CASE WHEN current_setting('work_mem') = '8MB' THEN 0 ELSE 1 END)
`;

type Ev = { type: string; seq: number; runId: string | null; command: string; [k: string]: unknown };
const readLines = (file: string): Ev[] =>
  fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
/** Consecutive repeats folded (guard.sample × n → guard.sample), so the order is asserted, not the count. */
const shape = (events: Ev[]) =>
  events.map((e) => (e.type.startsWith('stage.') ? `${e.type} ${e.stage}` : e.type)).filter((t, i, all) => t !== all[i - 1]);

describe.each(testServers())('the event stream on $name PostgreSQL', (server) => {
  it('a passed run: --events holds every stage, change, guard sample and the outcome in order, and the journal holds the same events', async () => {
    await withTestDatabase(server, uniqueName('ev_pass'), async (db) => {
      const file = path.join(await tempDir(), 'events.jsonl');
      const result = await runCli([
        'run',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile(POLICY),
        '--yes',
        '--no-probes',
        '--window',
        '2s',
        '--interval',
        '400ms',
        '--events',
        file,
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(0);
      const runId = result.json.runId;
      const events = readLines(file);
      expect(shape(events)).toEqual([
        'run.started',
        'stage.started preflight',
        'run.id',
        'stage.finished preflight',
        'stage.started apply',
        'change.applied',
        'stage.finished apply',
        'stage.started verify',
        'stage.finished verify',
        'stage.started alerting',
        'stage.finished alerting',
        'stage.started guard',
        'guard.started',
        'guard.sample',
        'stage.finished guard',
        'run.outcome',
        'report.written',
      ]);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
      expect(events.every((e) => e.command === 'run')).toBe(true);
      // Every event after the run got its id carries it.
      expect(events.slice(events.findIndex((e) => e.type === 'run.id')).every((e) => e.runId === runId)).toBe(true);
      expect(events.filter((e) => e.type === 'change.applied').map((e) => e.step)).toEqual([
        'set statement_timeout',
        'set idle_in_transaction_session_timeout',
        'set work_mem',
        'connection_limit',
      ]);
      const samples = events.filter((e) => e.type === 'guard.sample') as unknown as {
        elapsedMs: number;
        connections: number;
        connectionLimit: number;
        saturationAt: number;
        failureRate: { limit: number };
        triggers: { trigger: string; measured: boolean; threshold: unknown }[];
      }[];
      expect(samples.length).toBeGreaterThanOrEqual(2);
      expect(samples.map((s) => s.elapsedMs)).toEqual([...samples.map((s) => s.elapsedMs)].sort((a, b) => a - b));
      for (const s of samples) {
        expect(s.connectionLimit).toBe(20);
        expect(s.saturationAt).toBe(19);
        expect(s.connections).toBeGreaterThan(0);
        expect(s.triggers.map((t) => t.trigger)).toEqual(
          expect.arrayContaining(['timeout_errors_increase', 'latency_degradation', 'pool_exhaustion']),
        );
      }
      expect(samples[0].triggers.find((t) => t.trigger === 'timeout_errors_increase')!.threshold).toBe(0.05);
      expect(events.find((e) => e.type === 'run.outcome')).toMatchObject({ outcome: 'passed', state: 'passed', error: null });
      expect((events.at(-1) as unknown as { files: Record<string, string> }).files.html).toBe(result.json.reports.html);

      // The journal: the same events, with the run id on the ones emitted before it existed.
      const stored = await sql<{ seq: number; type: string; run_id: string }>(
        server,
        'SELECT seq, type, run_id FROM pgharden.events ORDER BY id',
        [],
        db,
      );
      expect(stored.map((r) => [r.seq, r.type])).toEqual(events.map((e) => [e.seq, e.type]));
      expect(new Set(stored.map((r) => r.run_id))).toEqual(new Set([runId]));
    });
  });

  it('a run the checks trigger rolls back: trigger.fired, the rollback stage with a step per value, outcome rolled_back; rollback and apply have their own events', async () => {
    await withTestDatabase(server, uniqueName('ev_rb'), async (db) => {
      const url = urlFor(server, db);
      const before = await snapshot(server, db);
      const file = path.join(await tempDir(), 'events.jsonl');
      const result = await runCli([
        'run',
        '--db',
        url,
        '--policy',
        await policyFile(BREAKS),
        '--yes',
        '--no-probes',
        '--window',
        '10s',
        '--interval',
        '400ms',
        '--events',
        file,
        '--json',
      ]);
      expect(result.code, result.stderr).toBe(1);
      expect(result.json.outcome).toBe('rolled_back');
      const events = readLines(file);
      const order = shape(events);
      expect(order.slice(order.indexOf('stage.started guard'))).toEqual([
        'stage.started guard',
        'guard.started',
        'guard.sample',
        'trigger.fired',
        'stage.finished guard',
        'stage.started rollback',
        'rollback.step',
        'stage.finished rollback',
        'run.outcome',
        'report.written',
      ]);
      expect(events.find((e) => e.type === 'trigger.fired')).toMatchObject({ trigger: 'checks' });
      expect(events.find((e) => e.type === 'trigger.fired')!.summary).toMatch(/report needs more memory \(division by zero/);
      expect(events.filter((e) => e.type === 'rollback.step').map((e) => [e.step, e.ok])).toEqual([
        ['rollback statement_timeout', true],
        ['rollback idle_in_transaction_session_timeout', true],
        ['rollback work_mem', true],
        ['rollback connection_limit', true],
      ]);
      expect(events.find((e) => e.type === 'stage.finished' && e.stage === 'guard')).toMatchObject({ ok: false });
      expect(events.find((e) => e.type === 'run.outcome')).toMatchObject({ outcome: 'rolled_back', state: 'rolled_back' });
      expect(await snapshot(server, db)).toEqual(before);

      // apply and rollback on their own: the same stream, their own command.
      const applyFile = path.join(await tempDir(), 'apply.jsonl');
      const policy = await policyFile(POLICY);
      const applied = await runCli(['apply', '--db', url, '--policy', policy, '--events', applyFile, '--json']);
      expect(applied.code, applied.stderr).toBe(0);
      const a = readLines(applyFile);
      expect(shape(a)).toEqual(['run.started', 'stage.started apply', 'run.id', 'change.applied', 'stage.finished apply', 'run.outcome']);
      expect(a.every((e) => e.command === 'apply')).toBe(true);
      const rbFile = path.join(await tempDir(), 'rollback.jsonl');
      const rolled = await runCli(['rollback', '--db', url, '--policy', policy, '--events', rbFile, '--json']);
      expect(rolled.code, rolled.stderr).toBe(0);
      const r = readLines(rbFile);
      expect(shape(r)).toEqual([
        'run.started',
        'stage.started rollback',
        'run.id',
        'rollback.step',
        'stage.finished rollback',
        'run.outcome',
      ]);
      expect(r.at(-1)).toMatchObject({ outcome: 'rolled_back', runId: applied.json.runId });
      const journal = await sql<{ n: number }>(
        server,
        `SELECT count(*)::int AS n FROM pgharden.events WHERE run_id = $1 AND data->>'command' = 'rollback'`,
        [applied.json.runId],
        db,
      );
      expect(journal[0].n).toBe(r.length);
      expect(await snapshot(server, db)).toEqual(before);
    });
  });

  it('--events to a path that cannot be written: exit 2 and nothing changed', async () => {
    await withTestDatabase(server, uniqueName('ev_bad'), async (db) => {
      const before = await snapshot(server, db);
      const result = await runCli([
        'apply',
        '--db',
        urlFor(server, db),
        '--policy',
        await policyFile(POLICY),
        '--events',
        '/nonexistent/dir/events.jsonl',
      ]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(
        /--events \/nonexistent\/dir\/events\.jsonl: cannot open it for writing \(ENOENT\); nothing was changed/,
      );
      expect(await snapshot(server, db)).toEqual(before);
    });
  });
});
