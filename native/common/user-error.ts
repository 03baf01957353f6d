/**
 * @file The one error class every layer throws for a user's mistake (unknown id, empty name, a
 * folder that is not there): transports answer it as a 400 with its message, the CLI prints it,
 * and anything else is a crash worth a stack trace.
 */

export class UserError extends Error {}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}
