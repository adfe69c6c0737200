import { DomainError } from '../shared/errors.js';

/** Opaque page cursors: the position is encoded so clients do not build them by hand. */
export function encodeCursor(position: string | number): string {
  return Buffer.from(JSON.stringify([position]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): string;
export function decodeCursor(cursor: string, kind: 'number'): number;
export function decodeCursor(cursor: string, kind: 'string' | 'number' = 'string'): string | number {
  try {
    const [position] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof position === kind) return position as string | number;
  } catch {
    // fall through to the problem below
  }
  throw new DomainError('INVALID_CURSOR', 'The cursor is not one this list handed out.', { errors: [{ path: 'cursor', code: 'invalid-cursor', message: 'Unknown cursor.' }] });
}
