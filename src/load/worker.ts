import { parentPort, workerData } from 'node:worker_threads';
import { runGroup, type GroupSpec } from './group.js';

/** A worker thread running its share of the loadtest's clients (see run-load.ts). */
const port = parentPort!;
try {
  const result = await runGroup(workerData as GroupSpec, (p) => port.postMessage({ type: 'tick', ...p }));
  port.postMessage({ type: 'done', ...result });
} catch (err) {
  port.postMessage({
    type: 'error',
    message: (err as Error).message,
    code: (err as { code?: string }).code,
    name: (err as Error).name,
    exitCode: (err as { exitCode?: number }).exitCode,
  });
}
