import fs from 'node:fs';
import path from 'node:path';
import { ConnectionError, UsageError } from '../errors.js';
import type { ConnParams } from './conninfo.js';

export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** TLS options for node-postgres as plain data (targets are cloned into worker threads). */
export interface TlsOptions {
  rejectUnauthorized: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  crl?: string;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  /** The name the certificate must carry (verify-full), when it differs from the address dialled (hostaddr). */
  host?: string;
  servername?: string;
}

/**
 * How sessions to a target use TLS, libpq's meaning of sslmode
 * (https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-SSLMODE-STATEMENTS):
 * `attempts` are tried in order, the next one only when the server refuses the previous
 * (prefer: TLS then plain; allow: plain then TLS). A root certificate file that exists makes
 * every TLS attempt verify the chain, as libpq does; only verify-full checks the host name.
 */
export interface TlsPlan {
  mode: SslMode;
  attempts: (false | TlsOptions)[];
  /** Chain verified but not the host name (verify-ca; require/prefer/allow with a root certificate). */
  skipHostname: boolean;
  /** The root certificate file in use, for messages. */
  rootcert?: string;
}

const PROTOCOLS = { TLSv1: 'TLSv1', 'TLSv1.1': 'TLSv1.1', 'TLSv1.2': 'TLSv1.2', 'TLSv1.3': 'TLSv1.3' } as const;

/**
 * Build the plan from libpq parameters. `home` is where ~/.postgresql lives.
 * A bad sslmode is a usage error; an unreadable or missing file the mode needs is a connection
 * error (exit 3), as libpq reports it when connecting.
 */
export function tlsPlan(p: ConnParams, home: string, socket: boolean): TlsPlan {
  const requested = p.sslmode || (p.requiressl === '1' ? 'require' : 'prefer');
  if (!(SSL_MODES as readonly string[]).includes(requested)) {
    throw new UsageError(`invalid sslmode value: "${requested}" (expected one of ${SSL_MODES.join(', ')})`);
  }
  const mode = requested as SslMode;
  // libpq never uses TLS over a Unix-domain socket, whatever sslmode says.
  if (mode === 'disable' || socket) return { mode, attempts: [false], skipHostname: false };

  const dir = path.join(home, '.postgresql');
  const opts: TlsOptions = { rejectUnauthorized: false };
  let rootcert: string | undefined;
  const system = p.sslrootcert === 'system';
  if (system) {
    if (mode !== 'verify-full') throw new UsageError(`weak sslmode "${mode}" may not be used with sslrootcert=system (use "verify-full")`);
    opts.rejectUnauthorized = true; // node's bundled roots: leave `ca` unset
    rootcert = 'system';
  } else {
    const file = p.sslrootcert || path.join(dir, 'root.crt');
    if (fs.existsSync(file)) {
      opts.ca = readFile(file, 'root certificate');
      opts.rejectUnauthorized = true;
      rootcert = file;
    } else if (mode === 'verify-ca' || mode === 'verify-full') {
      throw new ConnectionError(
        `sslmode=${mode}: root certificate file "${file}" does not exist: set sslrootcert (or PGSSLROOTCERT) to the CA that signed the server's certificate, ` +
          "use sslrootcert=system for the system's trusted roots, or choose an sslmode that does not verify the server",
      );
    }
  }
  const crl = p.sslcrl || path.join(dir, 'root.crl');
  if (opts.rejectUnauthorized && fs.existsSync(crl)) opts.crl = readFile(crl, 'certificate revocation list');

  const cert = p.sslcert || path.join(dir, 'postgresql.crt');
  if (fs.existsSync(cert)) {
    opts.cert = readFile(cert, 'client certificate');
    const key = p.sslkey || path.join(dir, 'postgresql.key');
    checkKeyPermissions(key);
    opts.key = readFile(key, 'client private key');
    if (p.sslpassword) opts.passphrase = p.sslpassword;
  } else if (p.sslcert) {
    throw new ConnectionError(`could not read the client certificate file "${cert}": it does not exist`);
  }
  for (const [param, field] of [
    ['ssl_min_protocol_version', 'minVersion'],
    ['ssl_max_protocol_version', 'maxVersion'],
  ] as const) {
    const v = p[param];
    if (!v) continue;
    if (!(v in PROTOCOLS)) throw new UsageError(`invalid ${param} value: "${v}" (expected one of ${Object.keys(PROTOCOLS).join(', ')})`);
    opts[field] = PROTOCOLS[v as keyof typeof PROTOCOLS];
  }
  // With hostaddr the address dialled is not the name to check: verify against `host`.
  if (p.hostaddr && p.host) {
    opts.host = p.host;
    if (!/^[\d.:]+$/.test(p.host)) opts.servername = p.host;
  }
  const skipHostname = mode !== 'verify-full' && opts.rejectUnauthorized;
  const attempts: (false | TlsOptions)[] = mode === 'prefer' ? [opts, false] : mode === 'allow' ? [false, opts] : [opts];
  return { mode, attempts, skipHostname, rootcert };
}

function readFile(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConnectionError(`could not read the ${what} file "${file}": ${(err as Error).message}`);
  }
}

/** libpq refuses a private key others can read (0600, or 0640 when owned by root). */
function checkKeyPermissions(file: string): void {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    throw new ConnectionError(`could not read the client private key file "${file}": ${(err as Error).message}`);
  }
  if (process.platform === 'win32') return;
  const tooOpen = st.uid === 0 ? (st.mode & 0o037) !== 0 : (st.mode & 0o077) !== 0;
  if (tooOpen) {
    throw new ConnectionError(
      `private key file "${file}" has group or world access; it must be u=rw (0600) or less if owned by the current user, or u=rw,g=r (0640) or less if owned by root`,
    );
  }
}

/** A TLS refusal as a DBA reads it: why, and what to set. */
export function describeTlsError(err: { code?: string; message?: string }, plan: TlsPlan | undefined, host: string): string | null {
  const code = err.code ?? '';
  const msg = err.message ?? '';
  const root = plan?.rootcert ? `the root certificate in ${plan.rootcert}` : 'no root certificate';
  if (/does not support SSL/i.test(msg)) return `the server does not accept TLS, but sslmode=${plan?.mode ?? 'require'} requires it`;
  if (
    /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_CHAIN_TOO_LONG|INVALID_CA/.test(code)
  ) {
    return `server certificate not trusted (${msg}; checked against ${root}): set sslrootcert (or PGSSLROOTCERT) to the CA that signed it`;
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return `server certificate does not match the host name "${host}" (sslmode=verify-full): ${msg}; connect with a name the certificate carries, or use sslmode=verify-ca`;
  }
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_REVOKED|CRL_/.test(code)) return `server certificate rejected (${msg})`;
  if (/^ERR_SSL_|^ERR_TLS_|^EPROTO$/.test(code) || /SSL|TLS/.test(msg)) return `TLS handshake failed: ${msg}`;
  return null;
}
