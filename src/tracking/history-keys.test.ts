import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { historyKeysOf, keyIdOfMark } from './history-keys.js';
import { createSecretBox, keyIdOf } from './secret-box.js';

describe('history keys', () => {
  it('marks are HMAC-SHA256 (RFC 2104) under the HKDF subkey of their purpose, which anyone holding the key can recompute', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ unit: 'grapheme', maxLength: 300 }), (raw, text) => {
        const key = Buffer.from(raw);
        const subkey = Buffer.from(new Uint8Array(hkdfSync('sha256', key, 'shiplog', 'shiplog change digest v2', 64)).map((b) => b & 0x7f));
        const standard = createHmac('sha256', subkey).update(text, 'utf8').digest('hex');
        expect(historyKeysOf(createSecretBox([key])).digest.sign(text)).toBe(`hmac:${keyIdOf(key)}:${standard}`);
      }),
      { numRuns: 100 },
    );
  });

  it('names the key a mark was made under, and checks it under that key only while it is held', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const before = historyKeysOf(createSecretBox([oldKey]));
    const after = historyKeysOf(createSecretBox([newKey, oldKey]));
    const mark = before.digest.sign('change text');
    expect(keyIdOfMark(mark)).toBe(keyIdOf(oldKey));
    expect(mark).toMatch(/^hmac:[0-9a-f]{12}:[0-9a-f]{64}$/);
    expect(after.digest.check(mark, 'change text')).toBe('ok');
    expect(keyIdOfMark(after.digest.sign('change text'))).toBe(keyIdOf(newKey));
    expect(historyKeysOf(createSecretBox([newKey])).digest.check(mark, 'change text')).toBe('key-unknown');
    expect(after.digest.check(mark, 'change text!')).toBe('mismatch');
    expect(after.digest.check('0'.repeat(64), 'change text')).toBe('unkeyed');
    expect(after.digest.check('not a mark', 'change text')).toBe('mismatch');
  });

  it('checks every mark as the format defines it: any character changed, dropped or added under either key', () => {
    const [oldKey, newKey, otherKey] = [randomBytes(32), randomBytes(32), randomBytes(32)];
    const held = historyKeysOf(createSecretBox([newKey, oldKey]));
    const subkeys = new Map([oldKey, newKey].map((k) => [keyIdOf(k), Buffer.from(new Uint8Array(hkdfSync('sha256', k, 'shiplog', 'shiplog change digest v2', 64)).map((b) => b & 0x7f))]));
    const reference = (mark: string, text: string): string => {
      const parts = /^hmac:([0-9a-f]{12}):([0-9a-f]{64})$/.exec(mark);
      if (!parts) return /^[0-9a-f]{64}$/.test(mark) ? 'unkeyed' : 'mismatch';
      const subkey = subkeys.get(parts[1]!);
      if (!subkey) return 'key-unknown';
      return createHmac('sha256', subkey).update(text, 'utf8').digest('hex') === parts[2] ? 'ok' : 'mismatch';
    };
    const signer = fc.constantFrom(held, historyKeysOf(createSecretBox([oldKey])), historyKeysOf(createSecretBox([otherKey])));
    const edit = fc.oneof(
      fc.record({ at: fc.nat(90), put: fc.constantFrom('', '0', 'a', 'f', 'F', 'g', ':', 'é', '00') }),
      fc.constant(null),
    );
    fc.assert(
      fc.property(signer, fc.string({ maxLength: 40 }), edit, (keys, text, change) => {
        const signed = keys.digest.sign(text);
        const at = change ? Math.min(change.at, signed.length) : 0;
        const mark = change ? signed.slice(0, at) + change.put + signed.slice(at + 1) : signed;
        expect(held.digest.check(mark, text)).toBe(reference(mark, text));
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps purposes apart: a digest never passes for a chain link or a document checksum', () => {
    const keys = historyKeysOf(createSecretBox([randomBytes(32)]));
    const mark = keys.digest.sign('text');
    expect(keys.chain.check(mark, 'text')).toBe('mismatch');
    expect(keys.document.check(mark, 'text')).toBe('mismatch');
    expect(keys.chain.check(keys.chain.sign('text'), 'text')).toBe('ok');
  });
});
