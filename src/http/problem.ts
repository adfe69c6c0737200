import { errorCodes, type DomainError, type ErrorCode, type FieldProblem } from '../shared/errors.js';

/** RFC 9457 problem details, with Shiplog's stable `code` and the fields at fault. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  requestId?: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

const titles: Partial<Record<ErrorCode, string>> = {
  VALIDATION_FAILED: 'Invalid request',
  MALFORMED_JSON: 'Malformed JSON',
  JSON_TOO_DEEP: 'JSON nested too deeply',
  UNAUTHENTICATED: 'Authentication required',
  FORBIDDEN: 'Permission denied',
  PAYLOAD_TOO_LARGE: 'Request body too large',
  CONFIG_LOCKED: 'Configuration editing is disabled',
  RATE_LIMITED: 'Too many requests',
  INTERNAL: 'Internal error',
};

export function problemType(code: ErrorCode): string {
  return `urn:shiplog:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

export function titleOf(code: ErrorCode): string {
  return titles[code] ?? code.toLowerCase().replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
}

export function problemOf(code: ErrorCode, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { ...extensions, type: problemType(code), title: titleOf(code), status: errorCodes[code], detail, code };
}

export function problemFromDomainError(error: DomainError): Problem {
  // A domain detail `type` is an entity type key; it must not replace the problem's own `type` URI.
  const { type: entityType, ...details } = error.details;
  return problemOf(error.code, error.message, entityType === undefined ? details : { ...details, entityType });
}
