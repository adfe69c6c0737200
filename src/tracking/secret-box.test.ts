import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DomainError } from '../shared/errors.js';
import { createSecretBox, isSealed, keyIdOf, parseSecretKeys } from './secret-box.js';

const AAD = '01HZX0000000000000000000AA\nsigningSecret';

function openError(open: () => unknown): DomainError {
  try {
    open();
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    return error as DomainError;
  }
  throw new Error('expected open to fail');
}

/** Flips one bit of the base64url part at `index` of an envelope (`enc:v1:kid:iv:body:tag`). */
function flipBit(envelope: string, index: number): string {
  const parts = envelope.split(':');
  const bytes = Buffer.from(parts[index]!, 'base64url');
  bytes[0] = bytes[0]! ^ 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join(':');
}

describe('secret box', () => {
  const key = randomBytes(32);
  const box = createSecretBox([key]);

  it('opens what it sealed', () => {
    for (const plaintext of ['hunter2', '', 'ünïcødé 🔑', 'x'.repeat(4096)]) {
      const envelope = box.seal(plaintext, AAD);
      expect(isSealed(envelope)).toBe(true);
      expect(box.open(envelope, AAD)).toBe(plaintext);
    }
  });

  it('round-trips any text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string(), (plaintext, aad) => {
        expect(box.open(box.seal(plaintext, aad), aad)).toBe(plaintext);
      }),
      { numRuns: 100 },
    );
  });

  it('names its key and never holds the plaintext', () => {
    const envelope = box.seal('correct horse battery staple', AAD);
    expect(envelope.startsWith(`enc:v1:${keyIdOf(key)}:`)).toBe(true);
    expect(box.activeKeyId).toBe(keyIdOf(key));
    expect(envelope).not.toContain('correct horse');
    expect(envelope).not.toContain(Buffer.from('correct horse battery staple').toString('base64url').slice(0, 12));
    expect(keyIdOf(key)).not.toContain(key.toString('hex').slice(0, 12));
  });

  it('uses a fresh nonce for every seal', () => {
    const a = box.seal('same', AAD);
    const b = box.seal('same', AAD);
    expect(a).not.toBe(b);
    expect(a.split(':')[3]).not.toBe(b.split(':')[3]);
    expect(Buffer.from(a.split(':')[3]!, 'base64url')).toHaveLength(12);
  });

  it('refuses other associated data: another entity or another field', () => {
    const envelope = box.seal('s3cret', AAD);
    expect(openError(() => box.open(envelope, '01HZX0000000000000000000BB\nsigningSecret')).code).toBe('SECRET_UNREADABLE');
    expect(openError(() => box.open(envelope, '01HZX0000000000000000000AA\nauthentication.password')).code).toBe('SECRET_UNREADABLE');
    expect(openError(() => box.open(envelope, '')).code).toBe('SECRET_UNREADABLE');
  });

  it('refuses a tampered nonce, ciphertext or tag', () => {
    const envelope = box.seal('s3cret value', AAD);
    for (const part of [3, 4, 5]) {
      const error = openError(() => box.open(flipBit(envelope, part), AAD));
      expect(error.code).toBe('SECRET_UNREADABLE');
      expect(error.details.keyId).toBe(box.activeKeyId);
    }
    const parts = envelope.split(':');
    expect(openError(() => box.open(parts.slice(0, 5).join(':'), AAD)).code).toBe('SECRET_UNREADABLE');
    expect(openError(() => box.open([...parts.slice(0, 5), ''].join(':'), AAD)).code).toBe('SECRET_UNREADABLE');
    expect(openError(() => box.open('s3cret value', AAD)).code).toBe('SECRET_UNREADABLE');
  });

  it('refuses an envelope sealed with a key it does not have', () => {
    const other = createSecretBox([randomBytes(32)]);
    const error = openError(() => box.open(other.seal('s3cret', AAD), AAD));
    expect(error.code).toBe('SECRET_UNREADABLE');
    expect(error.details.keyId).toBe(other.activeKeyId);
  });

  it('rotates keys: the new box opens old envelopes and seals with the new key', () => {
    const oldKey = randomBytes(32);
    const newKey = randomBytes(32);
    const before = createSecretBox([oldKey]);
    const sealedOld = before.seal('kept across rotation', AAD);
    const rotated = createSecretBox([newKey, oldKey]);
    expect(rotated.activeKeyId).toBe(keyIdOf(newKey));
    expect(rotated.open(sealedOld, AAD)).toBe('kept across rotation');
    const sealedNew = rotated.seal('kept across rotation', AAD);
    expect(sealedNew.split(':')[2]).toBe(keyIdOf(newKey));
    expect(openError(() => before.open(sealedNew, AAD)).code).toBe('SECRET_UNREADABLE');
    expect(createSecretBox([newKey]).open(sealedNew, AAD)).toBe('kept across rotation');
  });

  it('needs at least one 32-byte key', () => {
    expect(() => createSecretBox([])).toThrow();
    expect(() => createSecretBox([randomBytes(16)])).toThrow(/32 bytes/);
    expect(() => createSecretBox([randomBytes(32), randomBytes(31)])).toThrow(/32 bytes/);
  });
});

describe('parseSecretKeys', () => {
  const a = randomBytes(32);
  const b = randomBytes(32);

  it('accepts hex and base64, the first key first', () => {
    expect(parseSecretKeys(a.toString('hex'))).toEqual([a]);
    expect(parseSecretKeys(a.toString('hex').toUpperCase())).toEqual([a]);
    expect(parseSecretKeys(a.toString('base64'))).toEqual([a]);
    expect(parseSecretKeys(` ${b.toString('base64')} , ${a.toString('hex')} `)).toEqual([b, a]);
  });

  it('rejects keys of the wrong length', () => {
    expect(() => parseSecretKeys(randomBytes(16).toString('hex'))).toThrow(/32 bytes/);
    expect(() => parseSecretKeys(randomBytes(33).toString('hex'))).toThrow(/32 bytes/);
    expect(() => parseSecretKeys(randomBytes(31).toString('base64'))).toThrow(/32 bytes/);
    expect(() => parseSecretKeys(`${a.toString('hex')},${randomBytes(24).toString('base64')}`)).toThrow(/32 bytes/);
    expect(() => parseSecretKeys('not a key')).toThrow(/32 bytes/);
  });

  it('gives keys a box can use', () => {
    const box = createSecretBox(parseSecretKeys(`${a.toString('hex')},${b.toString('base64')}`));
    expect(box.activeKeyId).toBe(keyIdOf(a));
    expect(box.open(createSecretBox([b]).seal('x', AAD), AAD)).toBe('x');
  });
});
