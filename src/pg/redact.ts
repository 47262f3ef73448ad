/**
 * Passwords never appear in output (DESIGN.md §4). Every message built from a connection
 * string, a config or a driver's error goes through `redact` before anyone sees it.
 */
const MASK = '***';

/** Keywords whose values are secrets in a keyword/value string or a URI query. */
const SECRET_KEYS = 'password|sslpassword|oauth_client_secret|scram_client_key|scram_server_key';

/** `user:secret@` in a URI (any scheme), `password=…` in keyword/value strings and URI queries. */
const PATTERNS: [RegExp, string][] = [
  // scheme://user:password@ — up to the last '@' of the word, so an unencoded '/' or '@' in the password is covered too.
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)\S*@/gi, `$1${MASK}@`],
  // keyword = 'quoted value' (libpq quoting: \' and \\ escapes), possibly unterminated.
  [new RegExp(`(\\b(?:${SECRET_KEYS})\\s*=\\s*)'(?:\\\\.|[^'\\\\])*'?`, 'gi'), `$1${MASK}`],
  // keyword=value unquoted, in a conninfo string (ends at whitespace) or a URI query (ends at &, #).
  [new RegExp(`(\\b(?:${SECRET_KEYS})\\s*=\\s*)(?!\\*\\*\\*)(?:\\\\.|[^\\s&#'\\\\])+`, 'gi'), `$1${MASK}`],
  // the same keywords percent-encoded inside a larger URI (password%3D…).
  [new RegExp(`((?<![a-z_])(?:${SECRET_KEYS})(?:%3D|%20)+)(?:%(?!20)[0-9a-f]{2}|[^\\s&#%])+`, 'gi'), `$1${MASK}`],
];

/**
 * `text` with every password shape masked, and each known secret (longer than 2 characters,
 * so a one-letter password cannot mangle a message) replaced wherever it appears verbatim.
 */
export function redact(text: string, secrets: (string | undefined | null)[] = []): string {
  let out = text;
  for (const [re, to] of PATTERNS) out = out.replace(re, to);
  for (const s of secrets) {
    if (typeof s !== 'string' || s.length < 3) continue;
    for (const form of new Set([s, encodeURIComponent(s)])) out = out.split(form).join(MASK);
  }
  return out;
}
