import { UsageError } from '../errors.js';

/**
 * libpq connection strings (https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING):
 * a `postgres://` / `postgresql://` URI or `keyword = value` pairs, parsed into libpq's keywords.
 */
export type ConnParams = Partial<Record<string, string>>;

/** Keywords pgharden honours (see target.ts and ssl.ts for how). */
const HONOURED = [
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'passfile',
  'service',
  'connect_timeout',
  'client_encoding',
  'options',
  'application_name',
  'fallback_application_name',
  'keepalives',
  'keepalives_idle',
  'sslmode',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslcrl',
  'sslsni',
  'sslnegotiation',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'channel_binding',
  'target_session_attrs',
  'gssencmode',
  'requiressl',
] as const;

/** libpq keywords that change nothing a node-postgres session can do; accepted as psql accepts them. */
const NO_OP = [
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
  'sslcompression',
  'krbsrvname',
  'gsslib',
  'gssdelegation',
  'load_balance_hosts',
  'sslcertmode',
  'sslkeylogfile',
  'min_protocol_version',
  'max_protocol_version',
];

/** libpq keywords that promise something pgharden cannot keep: refused rather than silently ignored. */
const REFUSED: Record<string, string> = {
  require_auth: 'pgharden cannot restrict the authentication methods it accepts',
  requirepeer: "pgharden cannot check the server process's OS user",
  sslcrldir: 'use sslcrl (a file) instead',
  replication: 'pgharden does not open replication connections',
  scram_client_key: 'not supported',
  scram_server_key: 'not supported',
  oauth_issuer: 'OAuth is not supported',
  oauth_client_id: 'OAuth is not supported',
  oauth_client_secret: 'OAuth is not supported',
  oauth_scope: 'OAuth is not supported',
};

export const KEYWORDS: ReadonlySet<string> = new Set<string>([...HONOURED, ...NO_OP, ...Object.keys(REFUSED)]);

const SECRET = new Set(['password', 'sslpassword']);

/**
 * A token for an error message. After a secret's value a stray word may be the rest of an
 * unquoted password with a space in it, so it is never shown; neither is anything not keyword-like.
 */
function show(token: string, afterSecret: boolean): string {
  return !afterSecret && /^[a-z_]{1,40}$/i.test(token) ? `"${token}"` : '(not shown: it may be part of a password)';
}

/** Check one keyword as libpq does (unknown → "invalid connection option"), plus the ones we refuse. */
export function checkKeyword(key: string, where: string, afterSecret = false): void {
  if (!KEYWORDS.has(key)) throw new UsageError(`${where}: invalid connection option ${show(key, afterSecret)}`);
  if (REFUSED[key]) throw new UsageError(`${where}: connection option ${key} is not supported (${REFUSED[key]})`);
}

/** True for a string that should be parsed as a URI rather than keyword/value pairs. */
export function looksLikeUri(s: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(s.trim());
}

/** Parse either form; `where` names the input in error messages (`--db`, `DATABASE_URL`). */
export function parseConnString(s: string, where: string): ConnParams {
  return looksLikeUri(s) ? parseUri(s, where) : parseKeywordValue(s, where);
}

/** libpq's percent-decoding: every %XX, an error for a malformed escape or %00. */
export function percentDecode(s: string, where: string): string {
  if (!s.includes('%')) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '%') {
      bytes.push(...Buffer.from(s[i], 'utf8'));
      continue;
    }
    const hex = s.slice(i + 1, i + 3);
    if (!/^[0-9a-f]{2}$/i.test(hex)) throw new UsageError(`${where}: invalid percent-encoded token in the connection URI`);
    const b = parseInt(hex, 16);
    if (b === 0) throw new UsageError(`${where}: forbidden value %00 in the connection URI`);
    bytes.push(b);
    i += 2;
  }
  return Buffer.from(bytes).toString('utf8');
}

/**
 * `postgres[ql]://[user[:password]@][host][:port][,…][/dbname][?key=value&…]`, every part
 * percent-decoded (so a database named `a/b` is `/a%2Fb`, a socket directory `%2Ftmp`).
 */
export function parseUri(uri: string, where: string): ConnParams {
  const s = uri.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(s)![1].toLowerCase();
  if (scheme !== 'postgres' && scheme !== 'postgresql') {
    throw new UsageError(
      `${where}: ${scheme}:// is not a PostgreSQL connection URI (expected postgres:// or postgresql://, or keyword=value pairs)`,
    );
  }
  let rest = s.slice(scheme.length + 3);
  const params: ConnParams = {};
  // The authority ends at the first '/' or '?'; a '#' is not special to libpq but is never valid there.
  const end = rest.search(/[/?]/);
  let authority = end < 0 ? rest : rest.slice(0, end);
  rest = end < 0 ? '' : rest.slice(end);
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    if (user) params.user = percentDecode(user, where);
    if (colon >= 0) params.password = percentDecode(userinfo.slice(colon + 1), where);
  }
  if (authority) {
    const hosts: string[] = [];
    const ports: string[] = [];
    for (const part of authority.split(',')) {
      const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(part)!;
      const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
      hosts.push(percentDecode(host, where));
      ports.push(m[2] === undefined ? '' : percentDecode(m[2], where));
    }
    if (hosts.some(Boolean)) params.host = hosts.join(',');
    if (ports.some(Boolean)) params.port = ports.join(',');
  }
  if (rest.startsWith('/')) {
    const q = rest.indexOf('?');
    const db = q < 0 ? rest.slice(1) : rest.slice(1, q);
    if (db) params.dbname = percentDecode(db, where);
    rest = q < 0 ? '' : rest.slice(q);
  }
  if (rest.startsWith('?')) {
    let afterSecret = false;
    for (const pair of rest.slice(1).split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      if (eq < 0) throw new UsageError(`${where}: missing key/value separator "=" in a URI query parameter ${show(pair, afterSecret)}`);
      let key = percentDecode(pair.slice(0, eq), where);
      let value = percentDecode(pair.slice(eq + 1), where);
      // libpq accepts the JDBC spelling ssl=true for sslmode=require.
      if (key === 'ssl' && value === 'true') [key, value] = ['sslmode', 'require'];
      checkKeyword(key, where, afterSecret);
      params[key] = value;
      afterSecret = SECRET.has(key);
    }
  }
  return params;
}

/**
 * `key = value …` with libpq's rules: spaces around '=' optional; a value is a run of
 * non-space characters or a single-quoted string; a backslash escapes the next character
 * (`\'`, `\\`, `\ `) in both forms.
 */
export function parseKeywordValue(s: string, where: string): ConnParams {
  const params: ConnParams = {};
  let i = 0;
  const n = s.length;
  const space = (c: string | undefined) => c !== undefined && /\s/.test(c);
  let afterSecret = false;
  while (i < n) {
    while (space(s[i])) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && s[i] !== '=' && !space(s[i])) i++;
    const key = s.slice(keyStart, i);
    while (space(s[i])) i++;
    if (s[i] !== '=') {
      throw new UsageError(
        `${where}: missing "=" after ${show(key, afterSecret)} in the connection string (expected a postgres:// URI or keyword=value pairs)`,
      );
    }
    i++;
    while (space(s[i])) i++;
    let value = '';
    if (s[i] === "'") {
      i++;
      let closed = false;
      while (i < n) {
        const c = s[i];
        if (c === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        if (c === "'") {
          closed = true;
          i++;
          break;
        }
        value += c;
        i++;
      }
      if (!closed) throw new UsageError(`${where}: unterminated quoted string in the connection string`);
    } else {
      while (i < n && !space(s[i])) {
        if (s[i] === '\\' && i + 1 < n) {
          value += s[i + 1];
          i += 2;
          continue;
        }
        value += s[i];
        i++;
      }
    }
    checkKeyword(key, where, afterSecret);
    params[key] = value;
    afterSecret = SECRET.has(key);
  }
  return params;
}

/** Quote a value for a keyword/value string (what parseKeywordValue reads back). */
export function quoteConnValue(v: string): string {
  return /^[^\s'\\]+$/.test(v) ? v : `'${v.replace(/([\\'])/g, '\\$1')}'`;
}
