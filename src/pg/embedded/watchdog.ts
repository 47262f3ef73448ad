/**
 * Stops an embedded server once every process that used it is gone, including those killed with
 * SIGKILL that could not stop it themselves. Started detached by startEmbedded, one per data
 * directory; exits when the server stops. Usage: node watchdog.js <root> (an entry point: import nothing from it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { embeddedBinaries } from './binaries.js';
import { runningServer, stopCluster } from './cluster.js';
import { liveOwners, readPid, watchdogPidFile, withLock } from './owners.js';
import { serverUser } from './os-user.js';

const POLL_MS = 1000;

async function main(root: string): Promise<void> {
  const dataDir = path.join(root, 'data');
  const who = serverUser();
  const bin = await embeddedBinaries(who);
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    if (!runningServer(dataDir)) return;
    if (liveOwners(root).length) continue;
    const stopped = await withLock(root, async () => {
      if (liveOwners(root).length) return false;
      await stopCluster(bin, dataDir, who);
      return true;
    });
    if (stopped) return;
  }
}

const root = path.resolve(process.argv[2] ?? '.');
main(root)
  .catch(() => undefined)
  .finally(() => {
    if (readPid(watchdogPidFile(root)) === process.pid) fs.rmSync(watchdogPidFile(root), { force: true });
    process.exit(0);
  });
