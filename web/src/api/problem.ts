/** An RFC 9457 problem as Shiplog answers it: a stable code and, for bad input, the fields at fault. */
export interface FieldProblem {
  path: string;
  code: string;
  message: string;
}

export interface Problem {
  type?: string;
  title?: string;
  status: number;
  code: string;
  detail?: string;
  errors?: FieldProblem[];
  requestId?: string;
  [extension: string]: unknown;
}

/** A refused or failed request; `problem` is what the server said, or a description of a network failure. */
export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? problem.code);
  }

  get status(): number {
    return this.problem.status;
  }

  /** The problem's words about one field, if it names that field. */
  fieldMessage(path: string): string | undefined {
    return this.problem.errors?.find((e) => e.path === path)?.message;
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

function asProblem(body: unknown, status: number): Problem {
  if (body && typeof body === 'object' && 'code' in body && typeof body.code === 'string') return { ...(body as Problem), status };
  return { status, code: status === 0 ? 'NETWORK_ERROR' : 'UNEXPECTED_RESPONSE', detail: status === 0 ? 'The instance could not be reached.' : `The instance answered ${status}.` };
}

/** The data of an openapi-fetch answer, or an ApiError carrying its problem. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  throw new ApiError(asProblem(result.error, result.response.status));
}
