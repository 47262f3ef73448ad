#!/usr/bin/env node
// Writes the bad-input corpus of issue 10 ("1,000 generated policies") to test/fixtures/policy-fuzz/.
// Deterministic: a fixed seed, no clock, no environment; running it again rewrites the same bytes,
// so the corpus is reviewed and kept in git. test/policy-fuzz.test.ts runs every file.
//
//   node scripts/gen-policy-fuzz.mjs            # regenerate
//   node scripts/gen-policy-fuzz.mjs --check    # exit 1 if the committed corpus differs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const OUT = fileURLToPath(new URL('../test/fixtures/policy-fuzz/', import.meta.url));
const COUNT = 1000;
const SEED = 0x16_10; // issue 16, issue 10

/** mulberry32: small, fast, and the same sequence on every machine. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = prng(SEED);
const pick = (list) => list[Math.floor(rand() * list.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

/** Databases the test creates on each server, so a policy naming one plans against a real database. */
export const FUZZ_DATABASES = [
  'pgh_fuzz_a"b',
  "pgh_fuzz_it's",
  'pgh_fuzz_semi;colon --',
  'pgh_fuzz_sp ace',
  'pgh_fuzz_Données_ü',
  'pgh_fuzz_ДБ_😀',
  'pgh_fuzz_ab\u202ecd',
];
// A name longer than 63 bytes or holding NUL is refused by the policy schema (exit 2) before any connection.
const REFUSED_DATABASES = ['null\u0000byte', 'é'.repeat(32), 'x'.repeat(64), ''];

const SETTINGS = {
  statement_timeout: ['30s', '2s', '500ms', '5min', 0, 30000, '1h'],
  idle_in_transaction_session_timeout: ['60s', '3s', 0, '10min'],
  lock_timeout: ['5s', '200ms', 0],
  work_mem: ['256MB', '64MB', '4MB', 65536],
  log_min_duration_statement: ['1s', -1, 0, '250ms'],
  temp_file_limit: ['1GB', -1, '100MB'],
  search_path: ['"$user", public', 'app, public', 'public', 'pg_catalog, public'],
  default_transaction_read_only: ['on', 'off', true, false],
  TimeZone: ['UTC', 'Europe/Paris', 'America/New_York'],
  DateStyle: ['ISO, MDY', 'ISO, DMY', 'SQL, DMY'],
  application_name: ['app', 'batch'],
  default_transaction_isolation: ['read committed', 'serializable'],
  client_min_messages: ['notice', 'warning'],
  log_statement: ['ddl', 'none', 'mod'],
  idle_session_timeout: ['10min', 0],
};
const NAMES = Object.keys(SETTINGS);

const SQL_BITS = [
  "1s'; DROP TABLE x; --",
  "'); DROP TABLE pgharden.runs; --",
  '"; ALTER ROLE postgres NOSUPERUSER; --',
  '$$; DROP DATABASE postgres; $$',
  "30s' , search_path = 'evil",
  "E'\\\\x41'",
  '\\"; SELECT pg_sleep(10); --',
  '0; COMMIT; DROP SCHEMA public CASCADE; BEGIN',
  '1s /* comment */',
  "x'||pg_read_file('/etc/passwd')||'",
];
const UNICODE = [
  '３０s',
  '30ｓ',
  '٣٠s',
  'Ⅹs',
  '30s\u200b',
  '\u202e30s',
  '😀',
  'Ω',
  'straße',
  '中文',
  '\u0301',
  'e\u0301',
  '\ufeff30s',
  '30\u00a0s',
];
const YAML_SCALARS = [
  '~',
  'null',
  'Null',
  'true',
  'yes',
  'no',
  'on',
  'off',
  '.inf',
  '-.inf',
  '.nan',
  '0x1F',
  '0o17',
  '1e400',
  '-1e400',
  '1_000',
  '2024-01-01',
  '12:30:00',
  '!!binary aGVsbG8=',
  '!!str 30s',
  '!!int "30"',
  '!foo bar',
  '!!float 1',
  '""',
  "''",
  '[]',
  '{}',
];

const q = (s) => JSON.stringify(s); // a YAML double-quoted scalar is JSON-compatible for our strings
const long = (n, unit = 'a') => unit.repeat(Math.ceil(n / unit.length)).slice(0, n);
const validValue = (name) => pick(SETTINGS[name]);
const scalar = (v) => (typeof v === 'string' ? q(v) : String(v));
const settingsBlock = (entries) =>
  entries.length ? `settings:\n${entries.map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n` : 'settings: {}\n';
const someValid = (n) => {
  const names = [...NAMES].sort(() => rand() - 0.5).slice(0, n);
  return names.map((k) => [k, scalar(validValue(k))]);
};

/** Each generator returns the YAML text of one policy. */
const GENERATORS = {
  valid: () =>
    settingsBlock(someValid(int(1, 4))) +
    (rand() < 0.5 ? `connection_limit: ${int(5, 50)}\n` : '') +
    (rand() < 0.3 ? `guard_window: ${int(5, 60)}s\n` : ''),
  'wrong-type': () =>
    pick([
      () => settingsBlock([[pick(NAMES), pick(['[1, 2]', '{a: 1}', '[]', '{}', '- x'])]]),
      () => `connection_limit: ${pick(['"200"', '20.5', 'true', '[200]', '{n: 1}', '"lots"', '1e3'])}\n`,
      () => `guard_window: ${pick(['300', 'true', '[5m]', '"5 minutes"', '-5m', '5'])}\n`,
      () => `settings: ${pick(['[statement_timeout, 30s]', '"statement_timeout=30s"', '42', 'true'])}\n`,
      () => `alerts:\n  long_query: ${pick(['25s', '{over: 25, severity: critical}', '{over: 25s, severity: fatal}', '[25s]'])}\n`,
      () =>
        `rollback_triggers:\n  ${pick(['timeout_errors_increase: 5', 'latency_degradation: "20"', 'pool_exhaustion: "yes please"', 'checks: {name: x}', 'checks: [{name: x, sql: "select 1", command: "true"}]'])}\n`,
      () => `contacts: ${pick(['"dba@example.com"', '{dba_team: [a, b]}', '{pager: 123}'])}\n`,
    ])(),
  'huge-negative': () => {
    const name = pick([
      'statement_timeout',
      'work_mem',
      'lock_timeout',
      'temp_file_limit',
      'log_min_duration_statement',
      'idle_in_transaction_session_timeout',
      'connection_limit',
    ]);
    const v = pick([
      '-1',
      '-2',
      '-999999999999',
      '99999999999999999999999',
      '1e308',
      '-1e308',
      '2147483648',
      '2147483647',
      '9007199254740993',
      '"-5MB"',
      '"99999999TB"',
      '"-30s"',
      '"1e30s"',
      '"0.0000001ms"',
      '"2147483648ms"',
      '"1e400"',
      '-0',
      '"+30s"',
    ]);
    return name === 'connection_limit' ? `connection_limit: ${v}\n` : settingsBlock([[name, v]]);
  },
  unicode: () =>
    pick([
      () => settingsBlock([[pick(NAMES), q(pick(UNICODE))]]),
      () =>
        settingsBlock([
          [pick(['statement_tïmeout', 'wörk_mem', 'ｓtatement_timeout', 'statement_timeout\u200b', 'σ', '中文.参数']), q('30s')],
        ]),
      () => `database: ${q(pick([...FUZZ_DATABASES.slice(4), ...REFUSED_DATABASES]))}\n` + settingsBlock(someValid(1)),
      () => settingsBlock([['application_name', q(pick(UNICODE) + pick(UNICODE))]]),
    ])(),
  'long-string': () =>
    pick([
      () => settingsBlock([[pick(NAMES), q(long(int(1000, 20000), pick(['a', '9', 'x;', "'", '"', '\\'])))]]),
      () => settingsBlock([[long(int(64, 5000), 'n'), '1']]),
      () => `database: ${q(long(int(64, 300), pick(['d', 'é'])))}\n`, // over 63 bytes: refused
      () => settingsBlock([['application_name', q(long(int(64, 5000), 'z'))]]),
      () => settingsBlock([['search_path', q(Array.from({ length: int(50, 400) }, (_, i) => `s${i}`).join(', '))]]),
    ])(),
  'duplicate-key': () =>
    pick([
      () => `settings:\n  statement_timeout: 30s\n  statement_timeout: 60s\n`,
      () => `settings:\n  TimeZone: UTC\n  timezone: Europe/Paris\n`,
      () => `connection_limit: 10\nconnection_limit: 20\n`,
      () => `settings:\n  work_mem: 64MB\nsettings:\n  work_mem: 128MB\n`,
      () => `settings:\n  Statement_Timeout: 30s\n  statement_timeout: 30s\n`,
      () => `alerts:\n  long_query: {over: 25s, severity: critical, over: 30s}\n`,
    ])(),
  'sql-injection': () =>
    pick([
      () => settingsBlock([[pick(NAMES), q(pick(SQL_BITS))]]),
      () =>
        settingsBlock([
          [
            q(pick(['x; DROP TABLE y', "a'b", 'a"b', 'statement_timeout = 0; --', 'a b', 'a.b.c', '1abc', 'pg_catalog.x', '_ok.name$'])),
            '1',
          ],
        ]),
      () => settingsBlock([['application_name', q(pick(SQL_BITS))]]),
      () =>
        settingsBlock([
          [
            'search_path',
            q(pick(['public; DROP TABLE x', '"x"; --', "public', 'evil", 'a,,b', 'a,', '"unterminated', '"$user", "pub""lic"'])),
          ],
        ]),
      () => settingsBlock([['myapp.flag', q(pick(SQL_BITS))]]),
    ])(),
  'quoted-database': () =>
    `database: ${q(pick(FUZZ_DATABASES))}\n` + settingsBlock(rand() < 0.7 ? someValid(int(1, 3)) : [[pick(NAMES), q(pick(SQL_BITS))]]),
  'unknown-key': () =>
    pick([
      () => `${pick(['setting', 'Settings', 'connectionlimit', 'roles', 'environments', 'poolers', 'x', '"a b"', '"<<"'])}: {}\n`,
      () => `alerts:\n  ${pick(['long_querry', 'idle', 'cpu'])}: {over: 1s, severity: info}\n`,
      () => `rollback_triggers:\n  ${pick(['timeout_error_increase', 'latency', 'disk_full'])}: 5%\n`,
      () => settingsBlock([[pick(['statement_timeoutt', 'max_connection', 'work_memory', 'no_such_param', 'shared_buffer']), '1']]),
    ])(),
  'list-value': () =>
    pick([
      () => settingsBlock([[pick(NAMES), pick(['[30s]', '[a, b]', '- 30s'])]]),
      () => `settings:\n  - statement_timeout: 30s\n`,
      () => `- settings: {}\n`,
      () => `connection_limit: [10, 20]\n`,
      () => settingsBlock([['search_path', pick(['[app, public]', '"app, public"', '"app,public"', '"App, \\"My Schema\\""', '""'])]]),
    ])(),
  null: () =>
    pick([
      () => `settings: ${pick(['null', '~', ''])}\n`,
      () => settingsBlock([[pick(NAMES), pick(['null', '~', ''])]]),
      () => `connection_limit: ${pick(['null', '~'])}\n`,
      () => `database: ${pick(['null', '~', '""'])}\n`,
      () => pick(['', '# only a comment\n', 'null\n', '~\n', '---\n', '--- \n...\n']),
      () => `alerts: null\n`,
    ])(),
  nested: () =>
    pick([
      () => settingsBlock([[pick(NAMES), `{value: 30s, unit: s}`]]),
      () => `settings:\n  statement_timeout:\n    statement_timeout:\n      statement_timeout: 30s\n`,
      () => `settings: {settings: {work_mem: 64MB}}\n`,
      () => `alerts: {long_query: {over: {s: 25}, severity: critical}}\n`,
    ])(),
  anchors: () =>
    pick([
      () => `settings:\n  statement_timeout: &t 30s\n  lock_timeout: *t\n`,
      () => `settings: *undefined_alias\n`,
      () => `settings: &s {work_mem: 64MB}\nalerts: *s\n`,
      () => `settings: &a [*a]\n`,
      () => `settings: &m {x: *m}\n`,
      () =>
        [
          'a: &a [x, x, x, x, x, x, x, x, x]',
          'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]',
          'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]',
          'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]',
          'settings: *d',
          '',
        ].join('\n'),
      () => `base: &base {statement_timeout: 30s}\nsettings:\n  <<: *base\n`,
      () => `settings:\n  ? [statement_timeout]\n  : 30s\n`,
      () => `settings:\n  ? {a: 1}\n  : 30s\n`,
    ])(),
  'yaml-scalar': () => settingsBlock([[pick(NAMES), pick(YAML_SCALARS)]]),
  'bad-yaml': () =>
    pick([
      'settings:\n\tstatement_timeout: 30s\n',
      'settings: {statement_timeout: 30s\n',
      'settings:\n  statement_timeout: "30s\n',
      ':::\n',
      'settings: [\n',
      '--- a\n--- b\n',
      'settings:\n  statement_timeout: 30s\n   work_mem: 4MB\n',
      '%YAML 9.9\n---\nsettings: {}\n',
      '@foo\n',
      '`cmd`\n',
      'settings: !!map [a]\n',
      'settings: {a: 1, a: 2}\n',
      '? \n',
      '"\\xZZ"\n',
      'settings: |\n  statement_timeout: 30s\n',
    ]),
  'server-checked': () => {
    const [name, value] = pick([
      ['TimeZone', pick(['Mars/Olympus', 'UTC+99', 'Europe/Atlantis', '"; DROP', ''])],
      ['DateStyle', pick(['nonsense', 'ISO, XYZ', 'ISO, MDY, DMY', ''])],
      ['lc_messages', pick(['xx_XX', 'C.UTF-99', 'de_DE.nope'])],
      ['default_text_search_config', pick(['no_such_config', 'pg_catalog.klingon'])],
      ['max_connections', 500],
      ['shared_buffers', '1GB'],
      ['port', 5433],
      ['is_superuser', 'on'],
      ['role', 'postgres'],
      ['session_authorization', 'postgres'],
      ['server_version', '99'],
      ['default_transaction_isolation', 'chaotic'],
      ['plpgsql.no_such_thing', 1],
      ['log_statement', 'everything'],
      ['work_mem', '64 parsecs'],
      ['statement_timeout', '5MB'],
      ['work_mem', '30s'],
    ]);
    return settingsBlock([[name, scalar(value)]]);
  },
};

const KINDS = Object.keys(GENERATORS);

function main() {
  const files = new Map();
  for (let i = 0; i < COUNT; i++) {
    // Every kind gets its share in order, then the rest at random: each kind is well represented.
    const kind = i < KINDS.length * 20 ? KINDS[i % KINDS.length] : pick(KINDS);
    files.set(`${String(i).padStart(4, '0')}-${kind}.yaml`, GENERATORS[kind]());
  }
  if (process.argv.includes('--check')) {
    const have = fs.existsSync(OUT)
      ? fs
          .readdirSync(OUT)
          .filter((f) => f.endsWith('.yaml'))
          .sort()
      : [];
    const differs =
      have.length !== files.size ||
      [...files].some(([f, text]) => !fs.existsSync(path.join(OUT, f)) || fs.readFileSync(path.join(OUT, f), 'utf8') !== text);
    console.log(
      differs
        ? 'policy-fuzz corpus differs from the generator: run node scripts/gen-policy-fuzz.mjs'
        : `policy-fuzz corpus up to date (${files.size} files)`,
    );
    process.exit(differs ? 1 : 0);
  }
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  for (const [f, text] of files) fs.writeFileSync(path.join(OUT, f), text);
  fs.writeFileSync(path.join(OUT, 'databases.json'), JSON.stringify(FUZZ_DATABASES, null, 2) + '\n');
  console.log(`wrote ${files.size} policies to ${path.relative(process.cwd(), OUT)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main();
