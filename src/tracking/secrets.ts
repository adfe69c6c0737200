import { SECRET_CLEAR, SECRET_KEEP } from '../catalog/define.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { collectPath, formatLocation, isRecord, setAt } from '../shared/field-path.js';
import type { SecretBox } from './secret-box.js';
import { isSealed, keyIdsIn } from './secret-box.js';

/** What the API shows in place of a secret that is set. */
export const SECRET_SET = Object.freeze({ set: true });

function isKeepMarker(value: unknown): boolean {
  return isRecord(value) && value.set === true && Object.keys(value).length === 1;
}

function associatedData(entityId: string, slot: string): string {
  return `${entityId}\n${slot}`;
}

/** Replaces `{ "set": true }` and `null` in secret fields of a raw request body so the type's schema can validate it. */
export function prepareSecretInput(def: EntityTypeDefinition, input: unknown): unknown {
  let body = input;
  for (const path of def.sensitive) {
    for (const hit of collectPath(body, path, true)) {
      if (isKeepMarker(hit.value)) body = setAt(body, hit.location, SECRET_KEEP);
      else if (hit.value === null) body = setAt(body, hit.location, SECRET_CLEAR);
    }
  }
  return body;
}

/**
 * Encrypts the secrets of a validated body. An omitted or kept secret keeps its stored envelope; a value equal
 * to the stored one keeps the envelope too, so saving a form unchanged records nothing.
 */
export function sealSecrets(
  def: EntityTypeDefinition,
  box: SecretBox,
  entityId: string,
  body: Record<string, unknown>,
  previous: Record<string, unknown> | null,
): Record<string, unknown> {
  let sealed: unknown = body;
  for (const path of def.sensitive) {
    const stored = new Map(collectPath(previous, path).map((hit) => [hit.stableName, hit.value]));
    for (const slot of collectPath(sealed, path, true)) {
      const old = stored.get(slot.stableName);
      const value = slot.value;
      let next: unknown;
      if (value === undefined || value === SECRET_KEEP) next = isSealed(old) ? old : undefined;
      else if (value === null || value === SECRET_CLEAR) next = undefined;
      else if (typeof value === 'string') next = isSealed(old) && opensTo(box, old, entityId, slot.stableName, value) ? old : box.seal(value, associatedData(entityId, slot.stableName));
      else next = value;
      sealed = setAt(sealed, slot.location, next);
    }
  }
  return sealed as Record<string, unknown>;
}

function opensTo(box: SecretBox, envelope: string, entityId: string, slot: string, plaintext: string): boolean {
  try {
    return box.open(envelope, associatedData(entityId, slot)) === plaintext;
  } catch {
    return false;
  }
}

/**
 * Each secret the type requires of this body as it would be stored and it does not hold, and each it holds that does
 * not apply to it (a kept value included: clearing it takes null).
 */
export function misplacedSecrets(def: EntityTypeDefinition, body: Record<string, unknown>): FieldProblem[] {
  const rules = def.secretRules(body);
  const isSet = (path: string) => collectPath(body, path).some((hit) => isSealed(hit.value));
  return [
    ...(rules.required ?? [])
      .filter((path) => !isSet(path))
      .map((path) => ({ path, code: 'required', message: 'Required: set it (a secret kept by { "set": true } or left out must already be set).' })),
    ...(rules.notApplicable ?? [])
      .filter(({ path }) => isSet(path))
      .map(({ path, why }) => ({ path, code: 'not-applicable', message: `Not applicable: ${why}. Send null to clear a stored value.` })),
  ];
}

/** VALIDATION_FAILED naming each misplaced secret (see misplacedSecrets). */
export function refuseMisplacedSecrets(def: EntityTypeDefinition, body: Record<string, unknown>, what: string): void {
  const errors = misplacedSecrets(def, body);
  if (errors.length > 0) throw new DomainError('VALIDATION_FAILED', `The ${what} is not valid.`, { errors });
}

/**
 * What is wrong with the secrets of a body made elsewhere (ADR 12): each must be an envelope this instance opens for
 * this very entity and field, never clear text. Envelopes naming keys this instance lacks are listed apart.
 */
export function receivedSecretProblems(
  def: EntityTypeDefinition,
  box: SecretBox,
  entityId: string,
  body: Record<string, unknown>,
): { unknownKeys: string[]; errors: FieldProblem[] } {
  const unknownKeys = new Set<string>();
  const errors: FieldProblem[] = [];
  for (const path of def.sensitive) {
    for (const hit of collectPath(body, path)) {
      const at = formatLocation(hit.location);
      if (!isSealed(hit.value)) {
        errors.push({ path: at, code: 'secret-in-clear', message: 'A secret travels sealed, never as clear text.' });
        continue;
      }
      const [keyId] = keyIdsIn(hit.value);
      if (keyId === undefined || !box.hasKey(keyId)) {
        unknownKeys.add(keyId ?? '');
        continue;
      }
      try {
        box.open(hit.value, associatedData(entityId, hit.stableName));
      } catch {
        errors.push({ path: at, code: 'secret-unreadable', message: 'The sealed secret does not open here: it was altered, or sealed for another entity or field.' });
      }
    }
  }
  return { unknownKeys: [...unknownKeys], errors };
}

/** The body as the API shows it: every set secret replaced by `{ "set": true }`. */
export function maskSecrets<T extends Record<string, unknown> | null>(def: EntityTypeDefinition, body: T): T {
  if (body === null || def.sensitive.length === 0) return body;
  let masked: unknown = body;
  for (const path of def.sensitive) {
    for (const hit of collectPath(masked, path)) masked = setAt(masked, hit.location, SECRET_SET);
  }
  return masked as T;
}

/** Secret slots whose envelope differs between two bodies (a secret was set, changed or cleared). */
export function changedSecrets(def: EntityTypeDefinition, before: Record<string, unknown> | null, after: Record<string, unknown> | null): string[] {
  const changed = new Set<string>();
  for (const path of def.sensitive) {
    const a = new Map(collectPath(before, path).map((h) => [h.stableName, h.value]));
    const b = new Map(collectPath(after, path).map((h) => [h.stableName, h.value]));
    for (const key of new Set([...a.keys(), ...b.keys()])) if (a.get(key) !== b.get(key)) changed.add(key);
  }
  return [...changed].sort();
}

/** Decrypts one secret of a stored body, for the parts that must use it (webhook signing, mailbox sign-in). */
export function openSecret(def: EntityTypeDefinition, box: SecretBox, entityId: string, body: Record<string, unknown>, slot: string): string | null {
  for (const path of def.sensitive) {
    const hit = collectPath(body, path).find((h) => h.stableName === slot);
    if (hit && isSealed(hit.value)) return box.open(hit.value, associatedData(entityId, slot));
  }
  return null;
}
