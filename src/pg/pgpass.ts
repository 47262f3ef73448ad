import fs from 'node:fs';

/** What a password-file line is matched against (libpq's rules). */
export interface PassKey {
  host?: string;
  hostaddr?: string;
  port: number;
  database: string;
  user: string;
}

export type PassLookup = { password: string } | { password?: undefined; ignored?: string };

/**
 * The password for `key` from a libpq password file (`host:port:database:user:password`,
 * `*` matches anything, `\:` and `\\` escape). As libpq: a socket directory or no host
 * matches `localhost`, and a file that group or others can read is ignored (and said so).
 */
export function lookupPassword(file: string, key: PassKey): PassLookup {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) return {};
    if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
      return { ignored: `password file ${file} ignored: group or others can read it (chmod 0600 ${file})` };
    }
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  const host = !key.host || key.host.startsWith('/') ? (key.hostaddr ?? 'localhost') : key.host;
  const wanted = [host, String(key.port), key.database, key.user];
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const fields = splitLine(line);
    if (fields.length < 5) continue;
    if (wanted.every((w, i) => fields[i] === '*' || fields[i] === w)) return { password: fields.slice(4).join(':') };
  }
  return {};
}

function splitLine(line: string): string[] {
  const fields: string[] = [''];
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && i + 1 < line.length) fields[fields.length - 1] += line[++i];
    else if (c === ':' && fields.length < 5) fields.push('');
    else fields[fields.length - 1] += c;
  }
  return fields;
}
