import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** Bearer credentials are random, so a plain SHA-256 is the right hash for storing them. */
export function hashCredential(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A credential with a recognisable prefix and 256 random bits. */
export function mintCredential(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export const credentialPrefixes = {
  apiToken: 'shp',
  accessToken: 'sla',
  clientSecret: 'scs',
  session: 'sss',
  csrf: 'csrf',
} as const;
