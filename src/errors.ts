/** Exit codes are a contract (DESIGN.md §4): scripts and CI rely on them. */
export const ExitCode = {
  ok: 0,
  checkFailed: 1,
  usage: 2,
  connection: 3,
  blocked: 4,
  /** The database refused a statement (privilege, lock timeout exhausted, SQL error): not retryable as is. */
  refused: 5,
  /** A bug in pgharden. */
  internal: 70,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Every error the tool raises on purpose carries the exit code it maps to. */
export class PghardenError extends Error {
  /** Structured data for --json output (findings, differences, …). */
  details?: unknown;
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = new.target.name;
  }
  withDetails(details: unknown): this {
    this.details = details;
    return this;
  }
}

/** Bad flags or arguments: nothing was changed. */
export class UsageError extends PghardenError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** A policy file (or a policy value) that cannot be used: nothing was changed. */
export class PolicyError extends PghardenError {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message, ExitCode.usage);
  }
}

/** The server could not be reached, or refused us (auth, missing database, privilege). */
export class ConnectionError extends PghardenError {
  constructor(
    message: string,
    /** The server's SQLSTATE (53300 too many connections, 28P01 bad password, …) or Node's error code. */
    readonly code?: string,
  ) {
    super(message, ExitCode.connection);
  }
}

/** Preflight, plan or lint found something blocking: nothing was changed. */
export class BlockedError extends PghardenError {
  constructor(message: string) {
    super(message, ExitCode.blocked);
  }
}

/** A check ran and failed (verify, rollback check, guard). */
export class CheckFailedError extends PghardenError {
  constructor(message: string) {
    super(message, ExitCode.checkFailed);
  }
}

/** The database refused a statement we sent (privilege, lock timeout, invalid value): not retryable as is. */
export class RefusedError extends PghardenError {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message, ExitCode.refused);
  }
}
