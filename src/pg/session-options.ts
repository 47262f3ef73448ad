/**
 * What every tool session pins, sent as startup `options` (no round trip). The tool parses
 * dates, intervals and numbers and must be able to write its journal, whatever the database
 * or role defaults say (`ALTER DATABASE … SET DateStyle = 'SQL, DMY'`,
 * `default_transaction_read_only = on`, a short lock_timeout, …).
 * Not pinned: lc_messages (superuser-only: a non-superuser's login would fail) and search_path
 * (migrations and the load generator rely on the user's; tool SQL qualifies its own objects).
 */
export function toolSessionOptions(o: { statementTimeoutMs: number; lockTimeoutMs: number }): string {
  const settings: [string, string][] = [
    ['statement_timeout', String(o.statementTimeoutMs)],
    ['lock_timeout', String(o.lockTimeoutMs)],
    ['idle_in_transaction_session_timeout', '0'],
    ['default_transaction_read_only', 'off'],
    ['DateStyle', 'ISO, MDY'],
    ['IntervalStyle', 'postgres'],
    ['TimeZone', 'UTC'],
    ['extra_float_digits', '3'],
  ];
  return settings.map(([name, value]) => `-c ${name}=${escapeOption(value)}`).join(' ');
}

/** libpq/PostgreSQL split `options` on spaces; a backslash keeps a space or backslash in the value. */
export function escapeOption(value: string): string {
  return value.replace(/([\\\s])/g, '\\$1');
}
