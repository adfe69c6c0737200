/** Stable error codes; the http plugin maps each to a status once. */
export const errorCodes = {
  VALIDATION_FAILED: 400,
  MALFORMED_JSON: 400,
  JSON_TOO_DEEP: 400,
  INVALID_CURSOR: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  CSRF_FAILED: 403,
  SIGN_IN_REFUSED: 401,
  SSO_PROVIDER_UNAVAILABLE: 502,
  SSO_NOT_CONFIGURED: 503,
  NOT_READY: 503,
  UNKNOWN_TYPE: 404,
  ENTITY_NOT_FOUND: 404,
  CHANGE_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  ENTITY_REFERENCED: 409,
  ADMINISTRATOR_PROTECTED: 409,
  EMAIL_TAKEN: 409,
  AGENT_IN_USE: 409,
  THIRD_PARTY_ID_TAKEN: 409,
  APPLICATION_NOT_FOUND: 404,
  AGENT_NOT_FOUND: 404,
  TRACKING_DISABLED: 409,
  ROLLBACK_BLOCKED: 409,
  PRECONDITION_FAILED: 412,
  PAYLOAD_TOO_LARGE: 413,
  TOO_MANY_ATTEMPTS: 429,
  RATE_LIMITED: 429,
  // The token endpoint answers these as RFC 6749 §5.2 errors, not as problems.
  OAUTH_INVALID_REQUEST: 400,
  OAUTH_INVALID_CLIENT: 401,
  OAUTH_UNAUTHORIZED_CLIENT: 400,
  OAUTH_UNSUPPORTED_GRANT_TYPE: 400,
  OAUTH_INVALID_SCOPE: 400,
  CONFIG_LOCKED: 423,
  UNSUPPORTED_MEDIA_TYPE: 415,
  REFERENCE_NOT_FOUND: 422,
  SECRET_UNREADABLE: 500,
  // Sync: a refused batch lists every problem; the code names the kind when all are of one kind.
  SYNC_CONFLICT: 409,
  MISSING_DEPENDENCY: 409,
  VERSION_MISMATCH: 409,
  NOT_A_PIPELINE_EDGE: 409,
  PUSHES_REFUSED: 409,
  SYNC_REFUSED: 409,
  RECORD_MISSING: 409,
  PEER_NOT_FOUND: 404,
  PEER_EXISTS: 409,
  PEER_UNREACHABLE: 502,
  PEER_REFUSED: 502,
  IMPORT_INVALID: 400,
  RESTORE_NOT_CONFIRMED: 409,
  RESTORE_NOT_ALLOWED: 409,
  RESTORE_PLAN_CHANGED: 409,
  RESTORE_RECORD_MISSING: 409,
  NO_PRODUCTION_PEER: 409,
  // Desk records.
  CUSTOMER_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  TICKET_NOT_FOUND: 404,
  ASSET_NOT_FOUND: 404,
  CUSTOMER_IN_USE: 409,
  USER_IN_USE: 409,
  TICKET_PERMISSION_REQUIRED: 403,
  REASSIGN_REFUSED: 403,
  ACTION_RESTRICTED: 403,
  ACTION_NOT_AVAILABLE: 409,
  CO_MANAGED_REFUSED: 403,
  TICKET_LIST_NOT_FOUND: 404,
  VIEW_LIST_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  DELIVERY_NOT_FAILED: 409,
  TEST_DELIVERY_UNSUPPORTED: 404,
  TEST_DELIVERY_NOT_HERE: 409,
  RECORD_NOT_FOUND: 404,
  // Operations: a database this version cannot run, a backup that does not verify, a target a restore may not replace.
  DATABASE_NEWER: 503,
  BACKUP_NOT_VERIFIED: 422,
  RESTORE_TARGET_IN_USE: 409,
  RESTORE_TARGET_NOT_EMPTY: 409,
  // Promotion requests.
  PROMOTION_REQUEST_NOT_FOUND: 404,
  REQUEST_NOT_OPEN: 409,
  ALREADY_REVIEWED: 409,
  SELF_APPROVAL_REFUSED: 403,
  NOT_APPROVED: 409,
  OUTSIDE_DEPLOY_WINDOW: 409,
  REQUEST_STALE: 409,
  REQUEST_FAILED: 409,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

/** One problem inside an error: which field is wrong and why. */
export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

export interface DomainErrorDetails {
  errors?: FieldProblem[];
  [key: string]: unknown;
}

/** The one error type of the domain: a stable code, a message, and structured details. */
export class DomainError extends Error {
  readonly code: ErrorCode;
  readonly details: DomainErrorDetails;

  constructor(code: ErrorCode, message: string, details: DomainErrorDetails = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }

  get status(): number {
    return errorCodes[this.code];
  }
}

export function isDomainError(error: unknown): error is DomainError {
  return error instanceof DomainError;
}
