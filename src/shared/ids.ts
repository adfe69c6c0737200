import { monotonicFactory } from 'ulid';

const next = monotonicFactory();

/** Mints a global id (ULID): sortable by creation time, unique across instances. */
export function newId(now: number = Date.now()): string {
  return next(now);
}

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function isId(value: string): boolean {
  return ULID_PATTERN.test(value);
}
