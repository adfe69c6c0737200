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

  it('keeps purposes apart: a digest never passes for a chain link or a document checksum', () => {
    const keys = historyKeysOf(createSecretBox([randomBytes(32)]));
    const mark = keys.digest.sign('text');
    expect(keys.chain.check(mark, 'text')).toBe('mismatch');
    expect(keys.document.check(mark, 'text')).toBe('mismatch');
    expect(keys.chain.check(keys.chain.sign('text'), 'text')).toBe('ok');
  });
});
