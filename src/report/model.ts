import { proofText } from '../estate/promotion.js';
import { loadText } from '../estate/load-gate.js';
import { recycleText } from '../estate/poolers.js';
import { formatDuration } from '../policy/duration.js';
import type { RunRecord } from '../run/run.js';
import { postRollbackActions, type PostRollbackAction } from './actions.js';
import { causeOf, causeSentence } from './cause.js';
import { successCriteria, type Criterion } from './criteria.js';
import { timeoutEvidence, type EvidenceRow } from './evidence.js';
import { stateHistory, type ReportedRecord, type StateChange } from './history.js';
import { displayValue, policyOrder, settingRows, type SettingRow } from './settings.js';
import type { Marker } from './svg.js';

/** What every report format shows, computed once from a run's record. */
export interface ReportModel {
  runId: string;
  database: string;
  /** How the run itself ended (what it decided then). */
  outcome: string;
  /** The run's journaled state when the report was made (it may have moved on since the outcome: a later rollback). */
  currentState: string | null;
  /** What the banner says now: the outcome, or `superseded` when a passed run was rolled back later. */
  verdict: string;
  /** Why the run rolled back or stopped, in one sentence per fired trigger (null for a pass). */
  cause: string | null;
  headline: string;
  /** The run's states, oldest first, with what the journal said later. */
  history: StateChange[];
  approvedBy: string | null;
  startedAt: string;
  finishedAt: string | null;
  policySource: string;
  contacts: [string, string][];
  criteria: Criterion[];
  settings: SettingRow[];
  /** The policy's declared role values, each with its reason and expiry (the change ticket lists every exception). */
  roleExceptions: { role: string; settings: string; reason: string; expires: string; looser: boolean }[];
  /** The promotion chain: the passed run in each environment this one required. */
  promotion: string[];
  /** Maintenance window: inside it, or the reason given for changing outside it. */
  window: string | null;
  /** Who approved which plan (hash) and which database login applied it; the environment and whether it required approval. */
  approval: { environment: string | null; required: boolean; approvedBy: string | null; appliedBy: string | null };
  /** The low-traffic gate (max_load:): measured load against the limits, and any --over-load reason. */
  load: string | null;
  /** RECONNECT on each PgBouncer after apply and after rollback. */
  poolers: string[];
  latency: { label: string; before: number[]; after: number[] | null; source: string; degraded: boolean } | null;
  triggers: { trigger: string; fired: boolean; measured: boolean; summary: string; source: string }[];
  /** The statements behind the timeouts (load sample, pg_stat_statements, server log). */
  evidence: EvidenceRow[];
  /** Every source of a fired trigger with its full measurement: the rest of the evidence. */
  measurements: { trigger: string; source: string; summary: string }[];
  /** The runbook's post-rollback actions, for a run that was rolled back (by itself or later). */
  postRollback: PostRollbackAction[];
  connectionsBefore: Record<string, number>;
  connectionSamples: { x: number; y: number }[];
  connectionLimit: number | null;
  /** The guard window on the run's clock (seconds since the start). */
  guardWindow: { from: number; to: number } | null;
  stages: { stage: string; ok: boolean; skipped: boolean; seconds: number; start: number; summary: string }[];
  events: Marker[];
  alerts: { at: string; state: string; rule: string; severity: string; message: string }[];
  notice: string[];
}

const HEADLINES: Record<string, string> = {
  passed: 'PASSED: the hardening is in force and no rollback trigger fired',
  needs_attention: 'NEEDS ATTENTION: the run could not finish; its changes may be in place',
  triggered: 'TRIGGER FIRED: rollback was not automatic (--no-auto-rollback); roll back or accept',
  interrupted: 'INTERRUPTED: resume with `pgharden run --resume` or roll back',
  blocked: 'BLOCKED: nothing was changed',
};

/** A passed run whose journaled state moved on (a later `pgharden rollback`): its pass no longer describes the database. */
const supersededRun = (r: RunRecord) => r.outcome === 'passed' && Boolean(r.state) && r.state !== 'passed';

/** 2026-11-26T06:27:39.216Z → 2026-11-26 06:27:39 UTC: one unbreakable value in the header. */
export const when = (iso: string | null | undefined) => (iso ? iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC') : '—');

/** The banner: the outcome with its cause in one sentence, or what became of a passed run later. */
function headline(r: ReportedRecord, cause: string | null, history: StateChange[]): string {
  if (supersededRun(r)) {
    const later = history.at(-1);
    return `SUPERSEDED: passed, then ${r.state === 'rolled_back' ? 'rolled back' : r.state} later (${later?.at ? `at ${when(later.at)}; ` : ''}current state: ${r.state}); the hardening of this run is no longer in force (the run passed at ${when(r.finishedAt)})`;
  }
  if (r.outcome === 'rolled_back') {
    const restored = r.rollback?.check?.ok ? '; the values from before the change are back (restore checked: exact)' : '';
    return `ROLLED BACK automatically: ${cause ?? 'verify failed after apply'}${restored}`;
  }
  if (r.outcome === 'triggered' && cause) return `TRIGGER FIRED, changes left in place: ${cause}${r.next ? `. Next: ${r.next}` : ''}`;
  if (r.outcome === 'needs_attention') return `${HEADLINES.needs_attention}: ${r.error ?? ''}${r.next ? `. Next: ${r.next}` : ''}`;
  return HEADLINES[r.outcome ?? ''] ?? 'unfinished run';
}

const CONTACT_LABELS: Record<string, string> = {
  dba_team: 'DBA team',
  application_team: 'Application team',
  on_call: 'On-call engineer',
  escalation: 'Escalation',
};

function roleExceptions(r: ReportedRecord): ReportModel['roleExceptions'] {
  const looser = new Map((r.verify?.exceptions ?? []).map((d) => [d.role, d.looser.length > 0]));
  return Object.entries(r.policy.roles ?? {}).map(([role, e]) => ({
    role,
    settings: Object.entries(e.settings)
      .map(([k, v]) => `${k} = ${v === null ? 'RESET' : String(v)}`)
      .join(', '),
    reason: e.reason ?? '—',
    expires: e.expires ?? 'never',
    looser: looser.get(role) ?? false,
  }));
}

export function buildReport(r: ReportedRecord): ReportModel {
  const guardStart = r.stages.filter((s) => s.stage !== 'guard' && s.stage !== 'rollback').reduce((n, s) => n + s.ms, 0) / 1000;
  let clock = 0;
  const stages = r.stages.map((s) => {
    const entry = { stage: s.stage, ok: s.ok, skipped: Boolean(s.skipped), seconds: s.ms / 1000, start: clock, summary: s.summary };
    clock += s.ms / 1000;
    return entry;
  });
  const fired = r.guard?.fired ?? [];
  const events: Marker[] = fired.map((t) => ({ at: guardStart + (r.guard?.observedMs ?? 0) / 1000, label: causeOf(t), kind: 'trigger' }));
  for (const a of r.guard?.alerts ?? []) {
    if (a.state === 'firing')
      events.push({ at: guardStart + a.elapsedMs / 1000, label: a.message, kind: `alert-${a.severity}` as Marker['kind'] });
  }
  const rollbackStage = stages.find((s) => s.stage === 'rollback');
  if (r.rollback) events.push({ at: rollbackStage?.start ?? clock, label: `rollback started: ${r.rollback.message}`, kind: 'rollback' });
  events.sort((a, b) => a.at - b.at);

  const beforeLoad = r.baselineLoad?.latency ?? null;
  const afterLoad = r.guard?.loads.at(-1)?.latency ?? null;
  const pick = (l: { p50Ms: number; p95Ms: number; p99Ms: number }) => [l.p50Ms, l.p95Ms, l.p99Ms];
  const degraded = fired.some((t) => t.trigger === 'latency_degradation');
  const latency = beforeLoad
    ? {
        degraded,
        label: 'load sample',
        before: pick(beforeLoad),
        after: afterLoad ? pick(afterLoad) : null,
        source: 'the load generator, before the change and in the guard window',
      }
    : r.baseline
      ? {
          degraded,
          label: 'latency probe (SELECT 1)',
          before: pick(r.baseline.latency),
          after: r.afterLatency ? pick(r.afterLatency) : null,
          source: '200 × SELECT 1 on the tool session, before apply and after the window',
        }
      : null;

  const cause =
    r.outcome === 'rolled_back' || r.outcome === 'triggered' || r.outcome === 'needs_attention' ? causeSentence(fired, r.error) : null;
  const history = stateHistory(r);
  const superseded = supersededRun(r);
  const evidence = timeoutEvidence(r);
  const rolledBack = r.outcome === 'rolled_back' || r.state === 'rolled_back';
  return {
    runId: r.runId,
    database: r.database,
    outcome: r.outcome ?? 'unfinished',
    currentState: r.state ?? null,
    verdict: superseded ? 'superseded' : (r.outcome ?? 'unfinished'),
    cause,
    headline: headline(r, cause, history),
    history,
    approvedBy: r.approvedBy,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    policySource: r.policySource,
    // The runbook's order (jsonb does not keep the policy's key order).
    contacts: Object.keys(CONTACT_LABELS)
      .filter((k) => (r.policy.contacts as Record<string, string | undefined> | undefined)?.[k])
      .map((k) => [CONTACT_LABELS[k], (r.policy.contacts as Record<string, string>)[k]]),
    criteria: successCriteria(r),
    settings: settingRows(r),
    roleExceptions: roleExceptions(r),
    promotion: (r.promotion ?? []).map(proofText),
    approval: {
      environment: r.environment ?? null,
      required: Boolean(r.environment && r.policy.environments?.[r.environment]?.approval === 'required'),
      approvedBy: r.approvedBy,
      appliedBy: r.appliedBy ?? null,
    },
    load: r.load
      ? `${loadText(r.load)}: ${r.load.ok ? 'a low-traffic period' : `OVER max_load (${r.load.over.join('; ')}), went ahead because: ${r.load.override}`}`
      : null,
    poolers: [
      ...(r.apply?.poolers ?? []).map((p) => `after apply: ${recycleText(p)}`),
      ...(r.rollback?.poolers ?? []).map((p) => `after rollback: ${recycleText(p)}`),
    ],
    window: r.window ? (r.window.inside ? `inside ${r.window.window}` : `OUTSIDE ${r.window.window}: ${r.window.override}`) : null,
    latency,
    triggers: (r.guard?.triggers ?? []).map(({ trigger, fired, measured, summary, source }) => ({
      trigger,
      fired,
      measured,
      summary,
      source,
    })),
    evidence,
    measurements: fired.flatMap((t) =>
      t.sources.filter((x) => x.fired).map((x) => ({ trigger: t.trigger, source: x.source, summary: x.summary })),
    ),
    postRollback: rolledBack || r.outcome === 'triggered' ? postRollbackActions(r, cause, evidence, superseded) : [],
    connectionsBefore: r.baseline?.connectionsByState ?? {},
    connectionSamples: (r.guard?.samples ?? []).map((s) => ({ x: guardStart + s.elapsedMs / 1000, y: s.connections })),
    connectionLimit: r.guard?.samples.at(-1)?.connectionLimit ?? null,
    guardWindow: r.guard ? { from: guardStart, to: guardStart + r.guard.observedMs / 1000 } : null,
    stages,
    events,
    alerts: [
      ...(r.syntheticAlert
        ? [
            {
              at: 'before the window',
              state: r.syntheticAlert.ok ? 'fired and resolved' : 'not seen',
              rule: 'long_query (synthetic)',
              severity: r.policy.alerts.long_query.severity,
              message: r.syntheticAlert.message,
            },
          ]
        : []),
      ...(r.guard?.alerts ?? []).map(({ at, state, rule, severity, message }) => ({ at, state, rule, severity, message })),
    ],
    notice: developerNotice(r),
  };
}

/** The runbook's "notify development team": the new limits and what they mean for application code. */
function developerNotice(r: RunRecord): string[] {
  // In PostgreSQL's display units, as plan and the settings table show them.
  const s = Object.fromEntries(
    policyOrder(r).map((k) => [k, r.policy.settings[k] === null ? null : displayValue(r, k, r.policy.settings[k] as string)]),
  );
  const lines: string[] = [];
  if (s.statement_timeout)
    lines.push(
      `Statements running longer than ${s.statement_timeout} are cancelled with SQLSTATE 57014 (query_canceled). Catch it, and optimise or split queries that come close (alerts start at ${formatDuration(r.policy.alerts.long_query.over)}).`,
    );
  if (s.idle_in_transaction_session_timeout)
    lines.push(
      `A transaction left idle for more than ${s.idle_in_transaction_session_timeout} has its connection terminated (SQLSTATE 25P03): commit or roll back before doing slow work (HTTP calls, user input) and let your pool discard the broken connection; in node-postgres, handle the client's 'error' event.`,
    );
  if (s.work_mem) lines.push(`work_mem is ${s.work_mem} per sort or hash operation for new sessions of this database.`);
  if (s.log_min_duration_statement) lines.push(`Statements slower than ${s.log_min_duration_statement} are logged with their text.`);
  if (r.policy.connection_limit !== undefined)
    lines.push(
      `The database admits at most ${r.policy.connection_limit} connections (SQLSTATE 53300 beyond that): size pools so that all instances together stay below it.`,
    );
  lines.push('The settings apply to new connections only: recycle pools after the change so every connection gets them.');
  return lines;
}
