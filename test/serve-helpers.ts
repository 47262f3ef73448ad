import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './helpers.js';

/** Start `pgharden serve` and resolve with its URL (the first line it prints); rejects if it exits first. */
export function serve(args: string[], cwd: string): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /(http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1] });
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}

/** Stop a served dashboard (SIGINT, as a person would) and wait until it has exited. */
export const stopServe = (child: ChildProcess) =>
  new Promise<void>((r) => {
    if (child.exitCode !== null) return r();
    child.once('exit', () => r());
    child.kill('SIGINT');
  });
