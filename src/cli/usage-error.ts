// A command used wrongly (a bad flag value, a missing file): the message goes
// to stderr and the exit code is 2 (signals.ts EXIT_USAGE), no stack.
export class UsageError extends Error {}
