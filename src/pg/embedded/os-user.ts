import { execFileSync, spawnSync } from 'node:child_process';

/** Who the embedded server runs as: the caller, or — PostgreSQL refuses to run as root — the OS user `postgres`. */
export interface RunAs {
  uid?: number;
  gid?: number;
  /** Shown in messages. */
  name: string;
}

const SERVICE_USER = 'postgres';

export const isRoot = (): boolean => process.getuid?.() === 0;

function ids(name: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** The caller, unless we are root: then `postgres`, created as a system user when it does not exist yet. */
export function serverUser(): RunAs {
  if (!isRoot()) return { name: 'the current user' };
  let found = ids(SERVICE_USER);
  if (!found) {
    // Only root gets here, and only when the machine has no postgres user at all.
    spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SERVICE_USER], {
      stdio: 'ignore',
    });
    found = ids(SERVICE_USER);
    if (!found) throw new Error(`PostgreSQL cannot run as root, and the OS user ${SERVICE_USER} could not be created (useradd)`);
  }
  return { ...found, name: `the OS user ${SERVICE_USER}` };
}

/** Can `who` enter `dir` (search permission along the whole path)? Checked by asking the OS as that user. */
export function canEnter(who: RunAs, dir: string): boolean {
  if (who.uid === undefined) return true;
  return spawnSync('test', ['-x', dir], { uid: who.uid, gid: who.gid, stdio: 'ignore' }).status === 0;
}
