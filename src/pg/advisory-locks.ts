/**
 * Every advisory lock pgharden takes, one key per purpose, in one place so no two purposes
 * share a key by accident (they once did: the bench data, migration history and alert table
 * locks were all 0x70676802). The high bytes spell "pgh".
 */
export const ADVISORY_LOCKS = {
  /** CREATE of the pgharden state schema. */
  stateSchema: 0x70676801,
  /** Setup of the pgharden_bench schema for load samples. */
  benchData: 0x70676802,
  /** pgharden.loadtests table creation. */
  loadtests: 0x70676803,
  /** pgharden.schema_migrations creation. */
  migrationHistory: 0x70676804,
  /** pgharden.alerts table creation. */
  alertsTable: 0x70676805,
  /** pgharden.approvals table creation. */
  approvalsTable: 0x70676806,
  /** pgharden.events table creation (the run event journal). */
  eventsTable: 0x70676807,
  /** The pgharden_fleet schema in a fleet's control database (a key well apart from the sequence above). */
  fleetSchema: 0x70676820,
  /** Writing a fleet's plan: two `fleet run` started together plan it once. */
  fleetPlan: 0x70676821,
} as const;
