import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { DomainError } from '../shared/errors.js';

const PREFIX = 'enc:v1:';
const HKDF_SALT = Buffer.from('shiplog', 'utf8');

export interface SecretKey {
  id: string;
  key: Buffer;
}

/** AES-256-GCM with a random nonce per value, the key id in the envelope, and caller-given associated data. */
export interface SecretBox {
  activeKeyId: string;
  hasKey(keyId: string): boolean;
  keyIds: string[];
  seal(plaintext: string, associatedData: string): string;
  open(envelope: string, associatedData: string): string;
  /**
   * A 64-byte subkey of every key for one purpose, under the key's own id: HKDF-SHA256 (salt "shiplog", the purpose as
   * its info), each byte's top bit cleared (448 bits of key; a pad of such a key is ASCII).
   */
  derive(purpose: string): DerivedKeys;
}

/** Subkeys of a secret box's keys for one purpose: `keys[activeKeyId]` makes new values, every key checks its own. */
export interface DerivedKeys {
  activeKeyId: string;
  keys: ReadonlyMap<string, Buffer>;
}

export function isSealed(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(PREFIX);
}

/** Key ids named by the envelopes anywhere in a value. */
export function keyIdsIn(value: unknown): string[] {
  const found = new Set<string>();
  const visit = (v: unknown): void => {
    if (isSealed(v)) found.add(v.slice(PREFIX.length).split(':')[0] ?? '');
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return [...found];
}

/** Key id: a short fingerprint of the key, so envelopes name their key without revealing it. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('shiplog-key-id:').update(key).digest('hex').slice(0, 12);
}

/** `keys[0]` seals; every key opens envelopes that name it (rotation). */
export function createSecretBox(keys: Buffer[]): SecretBox {
  if (keys.length === 0) throw new Error('secret box needs at least one key');
  const ring = new Map<string, Buffer>();
  for (const key of keys) {
    if (key.length !== 32) throw new Error('secret keys must be 32 bytes (AES-256)');
    ring.set(keyIdOf(key), key);
  }
  const active = keys[0]!;
  const activeKeyId = keyIdOf(active);
  const derived = new Map<string, DerivedKeys>();
  return {
    activeKeyId,
    derive(purpose) {
      let out = derived.get(purpose);
      if (!out) {
        const subkeys = new Map<string, Buffer>();
        for (const [id, key] of ring) subkeys.set(id, Buffer.from(new Uint8Array(hkdfSync('sha256', key, HKDF_SALT, purpose, 64)).map((b) => b & 0x7f)));
        out = { activeKeyId, keys: subkeys };
        derived.set(purpose, out);
      }
      return out;
    },
    hasKey: (keyId) => ring.has(keyId),
    keyIds: [...ring.keys()],
    seal(plaintext, associatedData) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', active, iv);
      cipher.setAAD(Buffer.from(associatedData, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return `${PREFIX}${activeKeyId}:${iv.toString('base64url')}:${body.toString('base64url')}:${tag.toString('base64url')}`;
    },
    open(envelope, associatedData) {
      const parts = envelope.startsWith(PREFIX) ? envelope.slice(PREFIX.length).split(':') : [];
      const [kid, iv, body, tag] = parts;
      const key = kid ? ring.get(kid) : undefined;
      if (parts.length !== 4 || !key || !iv || body === undefined || !tag) {
        throw new DomainError('SECRET_UNREADABLE', 'A stored secret cannot be read with the keys this instance has.', { keyId: kid ?? null });
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(associatedData, 'utf8'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
      } catch {
        throw new DomainError('SECRET_UNREADABLE', 'A stored secret failed authentication: it was altered or belongs to another field.', { keyId: kid });
      }
    },
  };
}

/** Parses `SHIPLOG_SECRET_KEY`: comma-separated base64 or hex 32-byte keys, the first one active. */
export function parseSecretKeys(text: string): Buffer[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const key = /^[0-9a-f]{64}$/i.test(part) ? Buffer.from(part, 'hex') : Buffer.from(part, 'base64');
      if (key.length !== 32) throw new Error('SHIPLOG_SECRET_KEY: each key must be 32 bytes, as 64 hex digits or base64');
      return key;
    });
}
