import * as crypto from 'node:crypto';
import type { DerivedKeys, SecretBox } from './secret-box.js';

/**
 * A keyed mark (HMAC-SHA256) as it is stored and travels: `hmac:<keyId>:<64 hex>`, naming the pipeline key it was
 * made under, so that marks made before a key rotation still check while that key is configured.
 */
const KEYED_MARK = /^hmac:([0-9a-f]{12}):([0-9a-f]{64})$/;

/** A mark of the format before keyed digests: a bare SHA-256 (ADR 2), which anyone can recompute. */
const LEGACY_MARK = /^[0-9a-f]{64}$/;

/** Every mark either format allows: what an export document or a batch may carry as a digest. */
export const MARK_PATTERN = /^(?:[0-9a-f]{64}|hmac:[0-9a-f]{12}:[0-9a-f]{64})$/;

/** ok; mismatch (altered, or not a mark at all); key-unknown (made under a key this instance lacks); unkeyed (a legacy SHA-256). */
export type MarkCheck = 'ok' | 'mismatch' | 'key-unknown' | 'unkeyed';

/** Keyed marks for one purpose. */
export interface Marker {
  activeKeyId: string;
  /** The mark of `text` under the active key. */
  sign(text: string): string;
  /** Whether `mark` is the mark of `text` under the key it names. */
  check(mark: string, text: string): MarkCheck;
}

/**
 * The keys that protect history, derived from the pipeline's secret key (ADR 12): each purpose its own subkey, so a
 * digest can never pass for a chain link or a document checksum.
 */
export interface HistoryKeys {
  /** Content digests of changes: portable, the same on every instance of the pipeline. */
  digest: Marker;
  /** Links of this instance's change log (local fields included). */
  chain: Marker;
  /** Checksums of export documents. */
  document: Marker;
}

export const isLegacyMark = (mark: string): boolean => LEGACY_MARK.test(mark);

/** The key id a keyed mark names; null for a legacy mark or anything else. */
export function keyIdOfMark(mark: string): string | null {
  return KEYED_MARK.exec(mark)?.[1] ?? null;
}

// One-shot hashing (Node 20.12 and later) creates no Hash object per call; older versions take createHmac.
const hashOnce = (crypto as Partial<typeof crypto>).hash;

/**
 * HMAC-SHA256 (RFC 2104) under `key`, hex: two one-shot hashes over the padded key and the text, rather than an Hmac
 * object per mark — a batch makes two marks a change, and Hmac objects cost several times the hashing they do there.
 * The key is derived with its bytes below 0x80, so the inner pad is ASCII and goes before the text as one string.
 */
export function hmacSha256(key: Buffer): (text: string) => string {
  if (key.length !== 64 || key.some((b) => b > 0x7f)) throw new Error('an HMAC key here is 64 bytes below 0x80');
  if (!hashOnce) return (text) => crypto.createHmac('sha256', key).update(text, 'utf8').digest('hex');
  const innerPad = Buffer.from(key.map((b) => b ^ 0x36)).toString('latin1');
  const outerInput = Buffer.concat([Buffer.from(key.map((b) => b ^ 0x5c)), Buffer.alloc(32)]);
  return (text) => {
    // The inner hash as 'binary' (latin1: one character a byte) is written back byte for byte: no Buffer is made for it.
    outerInput.write(hashOnce('sha256', innerPad + text, 'binary'), 64, 'latin1');
    return hashOnce('sha256', outerInput, 'hex');
  };
}

/** Whether hex text `a` equals `b` from `offset` to its end, in time that does not depend on where they differ. */
function sameHex(a: string, b: string, offset = 0): boolean {
  if (a.length !== b.length - offset) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a.charCodeAt(i) ^ b.charCodeAt(offset + i);
  return diff === 0;
}

function createMarker(derived: DerivedKeys): Marker {
  const macs = new Map([...derived.keys].map(([id, key]) => [id, hmacSha256(key)]));
  const active = macs.get(derived.activeKeyId)!;
  const prefix = `hmac:${derived.activeKeyId}:`;
  return {
    activeKeyId: derived.activeKeyId,
    sign: (text) => `${prefix}${active(text)}`,
    check(mark, text) {
      // A mark under the active key (nearly every one) is compared where it stands: a tail that is not hex differs too.
      if (mark.length === prefix.length + 64 && mark.startsWith(prefix)) return sameHex(active(text), mark, prefix.length) ? 'ok' : 'mismatch';
      const parts = KEYED_MARK.exec(mark);
      if (!parts) return LEGACY_MARK.test(mark) ? 'unkeyed' : 'mismatch';
      const mac = macs.get(parts[1]!);
      if (!mac) return 'key-unknown';
      return sameHex(mac(text), parts[2]!) ? 'ok' : 'mismatch';
    },
  };
}

const keysOf = new WeakMap<SecretBox, HistoryKeys>();

/** The history keys of a secret box's keys (made once per box). */
export function historyKeysOf(box: SecretBox): HistoryKeys {
  let keys = keysOf.get(box);
  if (!keys) {
    keys = {
      digest: createMarker(box.derive('shiplog change digest v2')),
      chain: createMarker(box.derive('shiplog change chain v2')),
      document: createMarker(box.derive('shiplog export document v2')),
    };
    keysOf.set(box, keys);
  }
  return keys;
}
