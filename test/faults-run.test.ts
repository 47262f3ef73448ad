import { describe, it } from 'vitest';
import { expectAllConverge } from './fault-helpers.js';
import { testServers } from './helpers.js';

// The run's injection points (its stages, and apply's inside it): on the embedded server, whose
// 300 connections hold six runs at once.
describe('crash injection of run on the embedded PostgreSQL', () => {
  it(
    'every injection point of run converges (resume or rollback)',
    () => expectAllConverge(testServers()[0].url, ['run'], { run: 12 }),
    600_000,
  );
});
