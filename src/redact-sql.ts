import { nodesOf } from './migrate/ast.js';

/**
 * (Connection strings and error messages: src/pg/redact.ts.)
 * Statement texts read from the server (pg_stat_statements, pg_stat_activity) end up in
 * baselines, run records, reports, the state schema, alerts and webhooks. Some carry
 * secrets verbatim: pg_stat_statements does not replace the password of
 * `ALTER ROLE r PASSWORD '…'` (nor conninfo strings, user-mapping options, pgcrypto keys)
 * with a placeholder. Every such text goes through `redactSql` before it is kept or shown.
 *
 * A statement is "risky" when the PostgreSQL parser says it is of a kind that can carry a
 * secret, or — because texts are often truncated or not parseable, and a false positive
 * only hides a literal — when a keyword pattern matches anywhere in it (also inside
 * literals: a DO block or a function body can run `ALTER ROLE … PASSWORD`). In a risky
 * statement every string literal and comment is replaced by `'…'` / `/* … *\/`, and the
 * value of a secret-named parameter (`SET app.password = abc`) too; the rest of the text
 * stays, so a DBA still sees which statement it was.
 */

/** Statement kinds (parse-tree node names) whose options or strings can hold a secret. */
const RISKY_NODES = [
  'CreateRoleStmt',
  'AlterRoleStmt', // PASSWORD '…' (CREATE/ALTER USER|GROUP parse to these)
  'CreateUserMappingStmt',
  'AlterUserMappingStmt', // OPTIONS (password '…')
  'CreateForeignServerStmt',
  'AlterForeignServerStmt', // OPTIONS (… password, sslkey …)
  'CreateSubscriptionStmt',
  'AlterSubscriptionStmt', // CONNECTION 'conninfo with password'
  'DoStmt',
  'CreateFunctionStmt', // bodies can run anything, including the above
];

/** Functions whose arguments are keys, passwords or connection strings. */
const RISKY_FUNCTION = /^(pgp_\w+|dblink\w*|set_config|crypt|gen_salt|encrypt\w*|decrypt\w*|hmac|digest|armor|dearmor)$/i;

/** Parameter or option names that hold secrets (`app.password`, `sslpassword`, `api_token`, …). */
const SECRET_NAME = /pass|secret|token|key|credential|conninfo|auth/i;

/** The fallback, applied to every text: keywords that can precede or surround a secret. */
const RISKY_TEXT = new RegExp(
  [
    String.raw`\bpass(word|wd|phrase)?\b`,
    String.raw`password`,
    String.raw`\b(create|alter)\s+(role|user|group)\b`,
    String.raw`\buser\s+mapping\b`,
    String.raw`\b(create|alter)\s+(server|subscription)\b`,
    String.raw`\bconnection\s+'`,
    String.raw`\bpgp_\w+`,
    String.raw`\bdblink\w*`,
    String.raw`\bset_config\b`,
    String.raw`\b(crypt|encrypt|decrypt|hmac)\s*\(`,
    String.raw`\bprogram\b`,
    String.raw`\bsecret`,
    String.raw`\btoken`,
    String.raw`\bconninfo\b`,
    String.raw`\bsslkey\b`,
  ].join('|'),
  'i',
);

let parseSync: ((sql: string) => unknown) | null = null;
let loading: Promise<void> | null = null;

/**
 * Load the parser (WebAssembly) once; until it is loaded `redactSql` uses the keyword fallback alone.
 * Imported here, not at the top: libpg-query costs a noticeable part of a second at startup, and
 * `monitor --once` (run every minute by Nagios) redacts with the keyword fallback only.
 */
export function loadRedactor(): Promise<void> {
  loading ??= import('libpg-query')
    .then(async (mod) => {
      await mod.loadModule();
      parseSync = mod.parseSync;
    })
    .catch(() => undefined);
  return loading;
}

/** Whether the parser sees a statement kind, function or option that can carry a secret (null: not parseable). */
function parserSaysRisky(sql: string): boolean | null {
  if (!parseSync) return null;
  let tree: unknown;
  try {
    tree = parseSync(sql);
  } catch {
    return null; // truncated or not SQL: the keyword fallback decides
  }
  if (RISKY_NODES.some((type) => nodesOf(tree, type).length > 0)) return true;
  if (nodesOf(tree, 'CopyStmt').some((c) => c.is_program)) return true;
  const funcs = nodesOf(tree, 'FuncCall').map((f) => (f.funcname ?? []).at(-1)?.String?.sval ?? '');
  if (funcs.some((name) => RISKY_FUNCTION.test(name))) return true;
  const setNames = nodesOf(tree, 'VariableSetStmt').map((s) => String(s.name ?? ''));
  if (setNames.some((name) => SECRET_NAME.test(name))) return true;
  return nodesOf(tree, 'DefElem').some((d) => SECRET_NAME.test(String(d.defname ?? '')));
}

/** True when `sql` may carry a secret. */
export function isRisky(sql: string): boolean {
  return parserSaysRisky(sql) === true || RISKY_TEXT.test(sql);
}

/** `sql` with secrets replaced by `…` when it is risky; unchanged otherwise. */
export function redactSql(sql: string): string {
  if (!sql || !isRisky(sql)) return sql;
  return redactSecretAssignments(redactLiterals(sql));
}

/** Redact then shorten (to keep a secret past the cut from being judged on a truncated text). */
export function redactAndTruncate(sql: string, max: number): string {
  const safe = redactSql(sql);
  return safe.length > max ? safe.slice(0, max) : safe;
}

/**
 * Every string literal ('…', E'…', U&'…', B'…', X'…', $tag$…$tag$) → `'…'` and every comment
 * → `/* … *\/`. Quoted identifiers are kept. An unterminated literal (a text cut short)
 * is redacted to the end.
 */
export function redactLiterals(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i];
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      out += '/* … */';
      i = end === -1 ? n : end;
    } else if (c === '/' && next === '*') {
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (sql[j] === '*' && sql[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      out += '/* … */';
      i = j;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n && !(sql[j] === '"' && sql[j + 1] !== '"')) j += sql[j] === '"' ? 2 : 1;
      out += sql.slice(i, j + 1);
      i = j + 1;
    } else if (c === "'") {
      // E'…' allows backslash escapes; the prefix letter (E, U&, B, X, N) was already copied and stays.
      const escapes = /[eE]$/.test(out) && !/[A-Za-z0-9_$][eE]$/.test(out);
      let j = i + 1;
      while (j < n) {
        if (escapes && sql[j] === '\\') j += 2;
        else if (sql[j] === "'" && sql[j + 1] === "'") j += 2;
        else if (sql[j] === "'") break;
        else j++;
      }
      out += "'…'";
      i = j + 1;
    } else if (c === '$' && !/[A-Za-z0-9_$]$/.test(out)) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i))?.[0];
      if (!tag) {
        out += c;
        i++;
        continue;
      }
      const end = sql.indexOf(tag, i + tag.length);
      out += "'…'";
      i = end === -1 ? n : end + tag.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Bare-word values of secret-named settings and options: `SET app.password = abc` → `SET app.password = …`. */
function redactSecretAssignments(sql: string): string {
  return sql.replace(
    /([A-Za-z0-9_."]*(?:pass|secret|token|key|credential|conninfo|auth)[A-Za-z0-9_."]*\s*(?:=|\bto\b)\s*)([^\s,;)'][^\s,;)]*)/gi,
    (_all, head: string, value: string) => (value.startsWith("'…'") || value === 'DEFAULT' ? head + value : `${head}…`),
  );
}

/** Parameters whose value is or holds a secret: `primary_conninfo` (a replication password), `ssl_passphrase_command`, custom `app.api_key`. */
const SECRET_SETTING = /conninfo|passphrase|pass(word|wd)?\b|password|secret|token|credential|key/i;

/** A setting's value as it may be kept or shown: `…` for a secret-named parameter. */
export function redactSettingValue<T extends string | null>(name: string, value: T): T | '…' {
  return value !== null && value !== '' && SECRET_SETTING.test(name) ? '…' : value;
}
