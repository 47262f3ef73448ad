import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { UsageError } from '../../errors.js';

/**
 * --web-config FILE: the exporter-toolkit web configuration that Prometheus exporters share
 * (https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md), the
 * subset a /metrics endpoint needs:
 *
 *   tls_server_config: { cert_file, key_file, client_ca_file?, client_auth_type? }
 *   basic_auth_users:  { user: <bcrypt hash> }
 *
 * Paths are relative to the file, as in exporter-toolkit. Anything else is refused by name
 * (a setting silently ignored would be a security setting not applied).
 */
export interface WebConfig {
  tls: { cert: Buffer; key: Buffer; ca?: Buffer; requireClientCert: boolean } | null;
  /** user → bcrypt hash. */
  users: Map<string, string> | null;
}

const TLS_KEYS = ['cert_file', 'key_file', 'client_ca_file', 'client_auth_type'];
const CLIENT_AUTH = ['NoClientCert', 'RequireAndVerifyClientCert'];

export async function loadWebConfig(file: string): Promise<WebConfig> {
  const bad = (why: string) => new UsageError(`--web-config ${file}: ${why}`);
  let doc: unknown;
  try {
    doc = parse(await fs.readFile(file, 'utf8')) ?? {};
  } catch (err) {
    throw bad((err as Error).message);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw bad('expected a mapping with tls_server_config and/or basic_auth_users');
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d))
    if (!['tls_server_config', 'basic_auth_users'].includes(k))
      throw bad(`${k} is not supported (only tls_server_config and basic_auth_users)`);
  const dir = path.dirname(path.resolve(file));
  const read = async (key: string, p: unknown) => {
    if (typeof p !== 'string' || !p) throw bad(`tls_server_config.${key} must be a file path`);
    try {
      return await fs.readFile(path.resolve(dir, p));
    } catch (err) {
      throw bad(`tls_server_config.${key}: ${(err as Error).message}`);
    }
  };

  let tls: WebConfig['tls'] = null;
  if (d.tls_server_config !== undefined && d.tls_server_config !== null) {
    const t = d.tls_server_config as Record<string, unknown>;
    if (typeof t !== 'object') throw bad('tls_server_config must be a mapping');
    for (const k of Object.keys(t))
      if (!TLS_KEYS.includes(k)) throw bad(`tls_server_config.${k} is not supported (${TLS_KEYS.join(', ')})`);
    const auth = (t.client_auth_type as string | undefined) ?? (t.client_ca_file ? 'RequireAndVerifyClientCert' : 'NoClientCert');
    if (!CLIENT_AUTH.includes(auth))
      throw bad(`tls_server_config.client_auth_type ${JSON.stringify(auth)}: one of ${CLIENT_AUTH.join(', ')}`);
    if (auth === 'RequireAndVerifyClientCert' && !t.client_ca_file)
      throw bad('client_auth_type RequireAndVerifyClientCert needs client_ca_file');
    tls = {
      cert: await read('cert_file', t.cert_file),
      key: await read('key_file', t.key_file),
      ...(t.client_ca_file ? { ca: await read('client_ca_file', t.client_ca_file) } : {}),
      requireClientCert: auth === 'RequireAndVerifyClientCert',
    };
  }

  let users: WebConfig['users'] = null;
  if (d.basic_auth_users !== undefined && d.basic_auth_users !== null) {
    const u = d.basic_auth_users as Record<string, unknown>;
    if (typeof u !== 'object' || Array.isArray(u)) throw bad('basic_auth_users must map user names to bcrypt hashes');
    users = new Map();
    for (const [name, hash] of Object.entries(u)) {
      if (typeof hash !== 'string' || !/^\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash))
        throw bad(`basic_auth_users.${name}: not a bcrypt hash (htpasswd -nBC 10 "" | tr -d ':\\n')`);
      users.set(name, hash);
    }
    await bcrypt(file); // said now, not at the first scrape
  }
  return { tls, users };
}

type Bcrypt = { compare(password: string, hash: string): Promise<boolean> };

/** bcrypt comes from the optional `bcryptjs` package (Node has no bcrypt of its own). */
async function bcrypt(file: string): Promise<Bcrypt> {
  const name = 'bcryptjs'; // a variable: the type checker must not require the package to be installed
  try {
    const mod = (await import(name)) as { default?: Bcrypt } & Bcrypt;
    return mod.default ?? mod;
  } catch {
    throw new UsageError(
      `--web-config ${file}: basic_auth_users needs the bcryptjs package, which is not installed (npm install bcryptjs)`,
    );
  }
}

/**
 * A checker for `Authorization: Basic …` against the users' bcrypt hashes. bcrypt is slow on
 * purpose, so a good pair is remembered (by a SHA-256 of user, password and hash), as
 * exporter-toolkit caches it; Prometheus scrapes with the same credentials every time.
 */
export async function basicAuth(users: Map<string, string>, file: string): Promise<(header: string | undefined) => Promise<boolean>> {
  const lib = await bcrypt(file);
  const good = new Set<string>();
  // A fixed hash for unknown users, so a wrong name costs as much as a wrong password.
  const decoy = '$2b$10$0123456789012345678901uXJ1vUGvYDU6uGgq3P2/Fvg9yDCMJ1e';
  return async (header) => {
    const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header?.trim() ?? '');
    if (!m) return false;
    const text = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon < 0) return false;
    const user = text.slice(0, colon);
    const password = text.slice(colon + 1);
    const hash = users.get(user);
    const key = createHash('sha256')
      .update(`${user}\0${password}\0${hash ?? ''}`)
      .digest('hex');
    if (hash && good.has(key)) return true;
    const ok = await lib.compare(password, hash ?? decoy).catch(() => false);
    if (!ok || !hash) return false;
    good.add(key);
    return true;
  };
}
