/** A command was called wrongly: the CLI says what is wrong in one line, points to the command's help, and exits 1. */
export class UsageError extends Error {}
