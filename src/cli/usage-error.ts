/** A command was called wrongly: the CLI prints the message and the usage, and exits 1. */
export class UsageError extends Error {}
