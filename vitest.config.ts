import { defineConfig } from 'vitest/config';

// PGHARDEN_CANARY=1 runs only the known-failing canary (see .ci/run): the gate must be able to fail.
const canary = process.env.PGHARDEN_CANARY === '1';

export default defineConfig({
  test: {
    include: canary ? ['test/canary/*.canary.ts'] : ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/reporters/counts.ts'],
    // Generous: a loaded 2-core machine can make one end-to-end case take minutes; these bound hangs, not speed.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // One module graph per worker, not per file: a fresh one cost each file ~1.3 s of CPU (vite
    // transforms, vitest runtime). No test mutates process-wide state (env, cwd, mocks, timers).
    isolate: false,
    // Most tests wait on the server (timeouts, guard windows), not the CPU.
    maxWorkers: 4,
    passWithNoTests: false,
  },
});
