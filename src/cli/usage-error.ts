/** A command was called wrongly: the CLI prints the message and the usage (the command's own, when given), and exits 1. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage?: string,
  ) {
    super(message);
  }
}
