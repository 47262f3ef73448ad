import fs from 'node:fs';
import path from 'node:path';

/**
 * Who uses an embedded server: one file per process under `<root>/owners/`, named by pid and holding
 * the process's start time, so a recycled pid is not mistaken for a live owner. The last owner to
 * leave stops the server; the watchdog stops it when every owner died without leaving (kill -9).
 */

/** Process start time in clock ticks since boot (Linux /proc), or '' where /proc is not available. */
function startTime(pid: number): string {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

export function isAlive(pid: number, started = ''): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !started || startTime(pid) === '' || startTime(pid) === started;
}

const ownersDir = (root: string) => path.join(root, 'owners');

export function addOwner(root: string, pid = process.pid): void {
  fs.mkdirSync(ownersDir(root), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(ownersDir(root), String(pid)), startTime(pid), { mode: 0o600 });
}

export function removeOwner(root: string, pid = process.pid): void {
  fs.rmSync(path.join(ownersDir(root), String(pid)), { force: true });
}

/** Live owners; entries of dead processes are removed on the way. */
export function liveOwners(root: string): number[] {
  let names: string[] = [];
  try {
    names = fs.readdirSync(ownersDir(root));
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const pid = Number(name);
    const started = fs.readFileSync(path.join(ownersDir(root), name), 'utf8').trim();
    if (isAlive(pid, started)) live.push(pid);
    else removeOwner(root, pid);
  }
  return live;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A mutex across processes (mkdir is atomic): starting, stopping and joining a server happen under it,
 * so a process joining never races one that is stopping. A lock whose holder died is broken.
 */
export async function withLock<T>(root: string, fn: () => Promise<T>, waitMs = 120_000): Promise<T> {
  const dir = path.join(root, 'lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.writeFileSync(path.join(dir, 'pid'), `${process.pid} ${startTime(process.pid)}`);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const [pid, started] = (fs.existsSync(path.join(dir, 'pid')) ? fs.readFileSync(path.join(dir, 'pid'), 'utf8') : '').split(' ');
      // A dead holder, or one that died between mkdir and writing its pid: break its lock.
      const orphaned = !pid && Date.now() - (fs.statSync(dir, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 10_000;
      if ((pid && !isAlive(Number(pid), started?.trim())) || orphaned) fs.rmSync(dir, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`the embedded PostgreSQL in ${root} is locked by process ${pid || '(starting)'}`);
      else await sleep(50);
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const watchdogPidFile = (root: string) => path.join(root, 'watchdog.pid');

export function readPid(file: string): number {
  try {
    return Number(fs.readFileSync(file, 'utf8').trim());
  } catch {
    return 0;
  }
}

export const watchdogRunning = (root: string): boolean => isAlive(readPid(watchdogPidFile(root)));

/** The server is stopped: the watchdog has nothing left to do (and must not linger writing in the directory). */
export function endWatchdog(root: string): void {
  const pid = readPid(watchdogPidFile(root));
  if (isAlive(pid)) process.kill(pid, 'SIGTERM');
  fs.rmSync(watchdogPidFile(root), { force: true });
}
