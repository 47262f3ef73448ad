import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UsageError } from '../errors.js';
import { checkKeyword, type ConnParams } from './conninfo.js';

/** Debian's libpq looks here when PGSYSCONFDIR is unset (its compiled-in sysconfdir). */
const DEFAULT_SYSCONFDIR = '/etc/postgresql-common';

/**
 * The files libpq reads for `service=name`, in order: PGSERVICEFILE (or ~/.pg_service.conf),
 * then PGSYSCONFDIR/pg_service.conf. The first file that has the service wins.
 */
export function serviceFiles(env: NodeJS.ProcessEnv): string[] {
  const user = env.PGSERVICEFILE ?? path.join(homeDir(env), '.pg_service.conf');
  return [user, path.join(env.PGSYSCONFDIR ?? DEFAULT_SYSCONFDIR, 'pg_service.conf')];
}

export function homeDir(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** The parameters of service `name`; an unknown service is a usage error naming the files searched. */
export function readService(name: string, env: NodeJS.ProcessEnv): ConnParams {
  const files = serviceFiles(env);
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new UsageError(`cannot read the service file ${file}: ${(err as Error).message}`);
    }
    const found = parseServiceFile(text, file).get(name);
    if (found) return found;
  }
  throw new UsageError(`definition of service "${name}" not found (searched ${files.join(' and ')}; set PGSERVICEFILE to another file)`);
}

/**
 * INI sections of `key=value` lines, as libpq reads them: `#` comments, blank lines, whitespace
 * around lines ignored, the value is everything after the first '=' (no quoting).
 */
export function parseServiceFile(text: string, file: string): Map<string, ConnParams> {
  const services = new Map<string, ConnParams>();
  let current: ConnParams | null = null;
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const where = `service file ${file}, line ${i + 1}`;
    const section = /^\[(.*)\]$/.exec(line);
    if (section) {
      current = services.get(section[1]) ?? {};
      services.set(section[1], current);
      return;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) throw new UsageError(`syntax error in ${where}`);
    const key = line.slice(0, eq).trim();
    if (key === 'service') throw new UsageError(`nested service specifications are not supported (${where})`);
    checkKeyword(key, where);
    current[key] = line.slice(eq + 1).trim();
  });
  return services;
}
