/** A time as a datetime-local input shows it (the person's own zone, to the second). */
export function toLocalInput(date: Date): string {
  const local = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 19);
}

/** A datetime-local value as an ISO time; undefined when the field holds no valid time. */
export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** A cut-off shown to the second means the whole of that second: what was made in it goes. */
export function endOfSecond(iso: string): string {
  const date = new Date(iso);
  return date.getMilliseconds() === 0 ? new Date(date.getTime() + 999).toISOString() : iso;
}

export function idempotencyKey(): string {
  return `console-${crypto.randomUUID()}`;
}
