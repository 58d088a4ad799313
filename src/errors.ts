/**
 * Errors that reach the user. Each carries the exit code of SPEC §6; the CLI
 * entry point is the one place that turns them into output and an exit.
 */
export class TxplanError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Exit 2: the command line itself is wrong (flag, argument, missing value). */
export class UsageError extends TxplanError {
  constructor(message: string, code = 'usage') {
    super(message, code, 2);
  }
}

/** Exit 1: the command was understood but could not do what was asked. */
export class FailedError extends TxplanError {
  constructor(message: string, code = 'failed') {
    super(message, code, 1);
  }
}

export class NotFoundError extends TxplanError {
  constructor(message: string) {
    super(message, 'not_found', 1);
  }
}

/** Exit 130: the user cancelled at a prompt. */
export class CancelledError extends TxplanError {
  constructor() {
    super('Cancelled.', 'cancelled', 130);
  }
}

/** Exit 4: another billing run holds the lock. */
export class BusyError extends TxplanError {
  constructor(message: string) {
    super(message, 'busy', 4);
  }
}
