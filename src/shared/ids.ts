import { randomBytes } from 'node:crypto';
import { monotonicFactory } from 'ulid';

// Cryptographic bytes drawn 4 KiB at a time: the default PRNG makes one crypto call per character.
const POOL_SIZE = 4096;
let pool = randomBytes(POOL_SIZE);
let taken = 0;

function pooledRandom(): number {
  if (taken === POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    taken = 0;
  }
  return pool[taken++]! / 256;
}

const next = monotonicFactory(pooledRandom);

/** Mints a global id (ULID): sortable by creation time, unique across instances. */
export function newId(now: number = Date.now()): string {
  return next(now);
}

const ULID_PATTERN = /^[0-9A-HJKMNP-TV-Z]{26}$/;

export function isId(value: string): boolean {
  return ULID_PATTERN.test(value);
}
