import { describe, it } from 'vitest';
import { expectAllConverge } from './fault-helpers.js';
import { testServers } from './helpers.js';

// The run's points are in faults-run.test.ts (a separate file, so the two run in parallel).
describe.each(testServers())('crash injection on $name PostgreSQL', (server) => {
  // Each command's backup and every one of its changes are points.
  it(
    'every injection point of apply and rollback converges',
    () => expectAllConverge(server.url, ['apply', 'rollback'], { apply: 6, rollback: 5 }),
    600_000,
  );
});
