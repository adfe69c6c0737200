import { createHmac, timingSafeEqual, type KeyObject } from 'node:crypto';
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

const hmacHex = (key: KeyObject, text: string): string => createHmac('sha256', key).update(text, 'utf8').digest('hex');

function createMarker(derived: DerivedKeys): Marker {
  const active = derived.keys.get(derived.activeKeyId)!;
  const prefix = `hmac:${derived.activeKeyId}:`;
  return {
    activeKeyId: derived.activeKeyId,
    sign: (text) => `${prefix}${hmacHex(active, text)}`,
    check(mark, text) {
      const parts = KEYED_MARK.exec(mark);
      if (!parts) return LEGACY_MARK.test(mark) ? 'unkeyed' : 'mismatch';
      const key = derived.keys.get(parts[1]!);
      if (!key) return 'key-unknown';
      return timingSafeEqual(Buffer.from(hmacHex(key, text), 'latin1'), Buffer.from(parts[2]!, 'latin1')) ? 'ok' : 'mismatch';
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
