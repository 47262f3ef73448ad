import { proofText } from '../estate/promotion.js';
import { formatDuration } from '../policy/duration.js';
import type { RunRecord } from '../run/run.js';
import { successCriteria, type Criterion } from './criteria.js';

/** What every report format shows, computed once from a run's record. */
export interface ReportModel {
  runId: string;
  database: string;
  outcome: string;
  /** The run's journaled state when the report was made (it may have moved on since the outcome: a later rollback). */
  currentState: string | null;
  headline: string;
  approvedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  policySource: string;
  contacts: [string, string][];
  criteria: Criterion[];
  settings: { setting: string; before: string; target: string; after: string }[];
  /** The policy's declared role values, each with its reason and expiry (the change ticket lists every exception). */
  /** The promotion chain: the passed run in each environment this one required. */
  promotion: string[];
  /** Maintenance window: inside it, or the reason given for changing outside it. */
  window: string | null;
  roleExceptions: { role: string; settings: string; reason: string; expires: string; looser: boolean }[];
  latency: { label: string; before: number[]; after: number[] | null; source: string } | null;
  triggers: { trigger: string; fired: boolean; measured: boolean; summary: string; source: string }[];
  connectionsBefore: Record<string, number>;
  connectionSamples: { x: number; y: number }[];
  connectionLimit: number | null;
  stages: { stage: string; ok: boolean; skipped: boolean; seconds: number; start: number; summary: string }[];
  events: { at: number; label: string; severity: string }[];
  alerts: { at: string; state: string; rule: string; severity: string; message: string }[];
  notice: string[];
}

const HEADLINES: Record<string, string> = {
  passed: 'PASSED: the hardening is in force and no rollback trigger fired',
  rolled_back: 'ROLLED BACK automatically: a rollback trigger fired',
  needs_attention: 'NEEDS ATTENTION: the run could not finish; its changes may be in place',
  triggered: 'TRIGGER FIRED: rollback was not automatic (--no-auto-rollback); roll back or accept',
  interrupted: 'INTERRUPTED: resume with `pgharden run --resume` or roll back',
  blocked: 'BLOCKED: nothing was changed',
};

/** The banner: the outcome with its cause, or what became of a passed run later. */
function headline(r: RunRecord): string {
  if (r.outcome === 'passed' && r.state && r.state !== 'passed') {
    return `SUPERSEDED: passed, then ${r.state === 'rolled_back' ? 'rolled back' : r.state} later (current state: ${r.state}); the hardening of this run is no longer in force`;
  }
  const fired = r.guard?.fired ?? [];
  if (r.outcome === 'rolled_back') {
    const cause = fired.length ? fired.map((t) => `${t.trigger} fired — ${t.summary}`).join('; ') : r.error ?? 'verify failed after apply';
    return `ROLLED BACK automatically: ${cause}`;
  }
  if (r.outcome === 'needs_attention') return `${HEADLINES.needs_attention}: ${r.error ?? ''}${r.next ? `. Next: ${r.next}` : ''}`;
  return HEADLINES[r.outcome ?? ''] ?? 'unfinished run';
}

const CONTACT_LABELS: Record<string, string> = { dba_team: 'DBA team', application_team: 'Application team', on_call: 'On-call engineer', escalation: 'Escalation' };

function roleExceptions(r: RunRecord): ReportModel['roleExceptions'] {
  const looser = new Map((r.verify?.exceptions ?? []).map((d) => [d.role, d.looser.length > 0]));
  return Object.entries(r.policy.roles ?? {}).map(([role, e]) => ({
    role,
    settings: Object.entries(e.settings).map(([k, v]) => `${k} = ${v === null ? 'RESET' : String(v)}`).join(', '),
    reason: e.reason ?? '—',
    expires: e.expires ?? 'never',
    looser: looser.get(role) ?? false,
  }));
}

export function buildReport(r: RunRecord): ReportModel {
  const db = r.baseline?.dbRoleSettings.dbSettings ?? [];
  const serverValue = (name: string) => {
    const row = r.baseline?.settings.find((s) => s.name === name);
    return row ? `${row.setting}${row.unit && /^-?\d+$/.test(row.setting) && row.setting !== '0' && row.setting !== '-1' ? ` ${row.unit}` : ''}` : '?';
  };
  const settings = Object.entries(r.policy.settings).map(([setting, target]) => {
    const live = r.verify?.checks.find((c) => c.name === `${setting} live`);
    return {
      setting,
      before: db.find((s) => s.name === setting)?.value ?? `(not set; server: ${serverValue(setting)})`,
      target: target === null ? 'RESET' : String(target),
      after: live ? `${live.actual ?? live.expected}${live.ok ? '' : ' ✘'}` : '—',
    };
  });
  if (r.policy.connection_limit !== undefined) {
    const check = r.verify?.checks.find((c) => c.name === 'connection_limit');
    settings.push({ setting: 'connection_limit', before: String(r.baseline?.database.connLimit ?? '?'), target: String(r.policy.connection_limit), after: check?.actual ?? '—' });
  }

  const guardStart = r.stages.filter((s) => s.stage !== 'guard' && s.stage !== 'rollback').reduce((n, s) => n + s.ms, 0) / 1000;
  let clock = 0;
  const stages = r.stages.map((s) => {
    const entry = { stage: s.stage, ok: s.ok, skipped: Boolean(s.skipped), seconds: s.ms / 1000, start: clock, summary: s.summary };
    clock += s.ms / 1000;
    return entry;
  });
  const events = (r.guard?.fired ?? []).map((t) => ({ at: guardStart + (r.guard?.observedMs ?? 0) / 1000, label: `${t.trigger}: ${t.summary}`, severity: 'critical' }));
  for (const a of r.guard?.alerts ?? []) {
    if (a.state === 'firing') events.push({ at: guardStart + a.elapsedMs / 1000, label: `${a.severity} alert: ${a.message}`, severity: a.severity });
  }
  if (r.rollback) events.push({ at: clock, label: r.rollback.message, severity: 'info' });

  const beforeLoad = r.baselineLoad?.latency ?? null;
  const afterLoad = r.guard?.loads.at(-1)?.latency ?? null;
  const pick = (l: { p50Ms: number; p95Ms: number; p99Ms: number }) => [l.p50Ms, l.p95Ms, l.p99Ms];
  const latency = beforeLoad
    ? { label: 'load sample', before: pick(beforeLoad), after: afterLoad ? pick(afterLoad) : null, source: 'the load generator, before the change and in the guard window' }
    : r.baseline
      ? { label: 'latency probe (SELECT 1)', before: pick(r.baseline.latency), after: r.afterLatency ? pick(r.afterLatency) : null, source: '200 × SELECT 1 on the tool session, before apply and after the window' }
      : null;

  return {
    runId: r.runId, database: r.database, outcome: r.outcome ?? 'unfinished', currentState: r.state ?? null,
    headline: headline(r),
    approvedBy: r.approvedBy, startedAt: r.startedAt, finishedAt: r.finishedAt, policySource: r.policySource,
    contacts: Object.entries(r.policy.contacts ?? {}).filter(([, v]) => v).map(([k, v]) => [CONTACT_LABELS[k] ?? k, v as string]),
    criteria: successCriteria(r),
    settings,
    roleExceptions: roleExceptions(r),
    promotion: (r.promotion ?? []).map(proofText),
    window: r.window ? (r.window.inside ? `inside ${r.window.window}` : `OUTSIDE ${r.window.window}: ${r.window.override}`) : null,
    latency,
    triggers: (r.guard?.triggers ?? []).map(({ trigger, fired, measured, summary, source }) => ({ trigger, fired, measured, summary, source })),
    connectionsBefore: r.baseline?.connectionsByState ?? {},
    connectionSamples: (r.guard?.samples ?? []).map((s) => ({ x: guardStart + s.elapsedMs / 1000, y: s.connections })),
    connectionLimit: r.guard?.samples.at(-1)?.connectionLimit ?? null,
    stages,
    events,
    alerts: [
      ...(r.syntheticAlert ? [{ at: 'before the window', state: r.syntheticAlert.ok ? 'fired and resolved' : 'not seen', rule: 'long_query (synthetic)', severity: r.policy.alerts.long_query.severity, message: r.syntheticAlert.message }] : []),
      ...(r.guard?.alerts ?? []).map(({ at, state, rule, severity, message }) => ({ at, state, rule, severity, message })),
    ],
    notice: developerNotice(r),
  };
}

/** The runbook's "notify development team": the new limits and what they mean for application code. */
function developerNotice(r: RunRecord): string[] {
  const s = r.policy.settings;
  const lines: string[] = [];
  if (s.statement_timeout) lines.push(`Statements running longer than ${s.statement_timeout} are cancelled with SQLSTATE 57014 (query_canceled). Catch it, and optimise or split queries that come close (alerts start at ${formatDuration(r.policy.alerts.long_query.over)}).`);
  if (s.idle_in_transaction_session_timeout) lines.push(`A transaction left idle for more than ${s.idle_in_transaction_session_timeout} has its connection terminated (SQLSTATE 25P03): commit or roll back before doing slow work (HTTP calls, user input) and let your pool discard the broken connection; in node-postgres, handle the client's 'error' event.`);
  if (s.work_mem) lines.push(`work_mem is ${s.work_mem} per sort or hash operation for new sessions of this database.`);
  if (s.log_min_duration_statement) lines.push(`Statements slower than ${s.log_min_duration_statement} are logged with their text.`);
  if (r.policy.connection_limit !== undefined) lines.push(`The database admits at most ${r.policy.connection_limit} connections (SQLSTATE 53300 beyond that): size pools so that all instances together stay below it.`);
  lines.push('The settings apply to new connections only: recycle pools after the change so every connection gets them.');
  return lines;
}
