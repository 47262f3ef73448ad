import { formatDuration } from '../../policy/duration.js';
import { elapsed } from '../elapsed.js';
import { percent } from '../rules.js';
import type { AlertTransition } from '../engine.js';
import type { Sample } from '../sample.js';
import type { MonitorEvent } from './sink.js';

/** Text shared by the live view and the plain-line sink. */

export function connectionsText(s: Sample): string {
  const { total, limit, limitSource } = s.connections;
  const of = limitSource === 'datconnlimit' ? 'limit' : 'max_connections - reserved';
  return `connections ${total}/${limit} (${percent(limit > 0 ? total / limit : 1)} of ${of})`;
}

export function rolloutText(s: Sample): string {
  const r = s.rollout;
  if (!r) return 'rollout: no applied run on record';
  const current = r.sessions - r.onOldSettings;
  const pgb = (r.poolers ?? [])
    .map((p) =>
      p.error
        ? `; PgBouncer ${p.pooler}: unreadable`
        : `; PgBouncer ${p.pooler}: ${p.onOldSettings}/${p.servers} server connections on the old`,
    )
    .join('');
  return `rollout: ${current}/${r.sessions} sessions on the new settings; ${r.onOldSettings} still on the old (${r.idleOnOldSettings} idle), applied ${r.appliedAt}${pgb}`;
}

/** `20:41:07Z connections 12/200 (6%…) active=3 … firing=1`: one line per sample off a TTY. */
export function sampleLine(s: Sample, firing: number): string {
  const states = Object.entries(s.connections.byState)
    .map(([k, v]) => `${k.replace(/ /g, '_')}=${v}`)
    .join(' ');
  const old = s.rollout ? ` old_settings=${s.rollout.onOldSettings}` : '';
  return (
    `${s.at} ${connectionsText(s)} ${states} longest_query=${elapsed(s.longestActiveMs)} ` +
    `longest_idle_in_tx=${elapsed(s.longestIdleInTransactionMs)}${old} firing=${firing} poll=${s.pollMs.toFixed(1)}ms`
  );
}

export function transitionLine(t: AlertTransition): string {
  const query = t.query ? ` — ${t.query.replace(/\s+/g, ' ').slice(0, 120)}` : '';
  return t.state === 'firing'
    ? `${t.at} FIRING ${t.severity.toUpperCase()} ${t.rule}: ${t.message}${query}`
    : `${t.at} RESOLVED ${t.severity.toUpperCase()} ${t.rule}: ${t.pid ? `pid ${t.pid}` : t.key.split(':').slice(1).join(':')} (firing since ${t.since})`;
}

export function eventLine(e: MonitorEvent): string {
  switch (e.type) {
    case 'connected':
      return `${e.at} ${e.reconnected ? 'reconnected to' : 'connected to'} ${e.target}`;
    case 'connection_lost':
      return `${e.at} connection lost: ${e.error}${e.code ? ` (${e.code})` : ''}`;
    case 'poll_failed':
      return `${e.at} ${e.connectionLost ? 'not connected' : 'poll failed'}: ${e.error}${e.code ? ` (${e.code})` : ''}; retry ${e.attempt} in ${formatDuration(e.retryInMs)}`;
    case 'recycled':
      return `${e.at} recycled idle session pid ${e.pid} (${e.usename ?? '?'}, started ${e.backendStart}, before the apply)`;
    case 'warning':
      return `${e.at} warning: ${e.message}`;
  }
}
