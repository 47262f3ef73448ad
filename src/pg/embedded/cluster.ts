import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Binaries } from './binaries.js';
import { isAlive } from './owners.js';
import type { RunAs } from './os-user.js';

/** Settings of every embedded server: loopback only, no Unix socket, room for the runbook's limit of 200. */
const SERVER_FLAGS = [
  '-c listen_addresses=127.0.0.1',
  "-c unix_socket_directories=''",
  '-c shared_preload_libraries=pg_stat_statements',
  '-c max_connections=300',
];

/** Run a PostgreSQL program as `who`; resolves with its output, rejects with it on a non-zero exit. */
export function runProgram(file: string, args: string[], who: RunAs, cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      uid: who.uid,
      gid: who.gid,
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(out.trim() || `${path.basename(file)} exited with code ${code}`)),
    );
  });
}

/** The running postmaster of `dataDir` (from postmaster.pid: line 1 pid, line 4 port), or null. */
export function runningServer(dataDir: string): { pid: number; port: number } | null {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8');
  } catch {
    return null;
  }
  const [pid, , , port] = text.split('\n');
  return isAlive(Number(pid)) ? { pid: Number(pid), port: Number(port) } : null;
}

export async function initCluster(bin: Binaries, dataDir: string, password: string, who: RunAs): Promise<void> {
  fs.mkdirSync(dataDir, { mode: 0o700 });
  const pwfile = path.join(path.dirname(dataDir), `.initdb-pw-${process.pid}`);
  fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  try {
    if (who.uid !== undefined) {
      fs.chownSync(dataDir, who.uid, who.gid!);
      fs.chownSync(pwfile, who.uid, who.gid!);
    }
    await runProgram(
      bin.initdb,
      [
        '-D',
        dataDir,
        '--auth=scram-sha-256',
        '--username=postgres',
        `--pwfile=${pwfile}`,
        '--encoding=UTF8',
        '--no-locale',
        '--no-instructions',
      ],
      who,
      path.dirname(dataDir),
    );
  } catch (err) {
    // A half-initialised directory would fail every later start: leave none behind.
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw err;
  } finally {
    fs.rmSync(pwfile, { force: true });
  }
}

/** pg_ctl start -w: returns once the server accepts connections; it runs in its own session, not ours. */
export async function startCluster(bin: Binaries, dataDir: string, port: number, who: RunAs): Promise<void> {
  const logFile = path.join(dataDir, 'server.log');
  await runProgram(
    bin.pg_ctl,
    ['start', '-D', dataDir, '-w', '-t', '60', '-l', logFile, '-o', [...SERVER_FLAGS, `-p ${port}`].join(' ')],
    who,
    dataDir,
  );
}

export async function stopCluster(bin: Binaries, dataDir: string, who: RunAs): Promise<void> {
  if (!runningServer(dataDir)) return;
  await runProgram(bin.pg_ctl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '60'], who, dataDir);
}

/** The last lines of the server log, for an error message. */
export function logTail(dataDir: string, lines = 5): string {
  try {
    return fs.readFileSync(path.join(dataDir, 'server.log'), 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
