import type { z } from 'zod';
import { DomainError, type FieldProblem } from './errors.js';
import { formatLocation } from './field-path.js';

/** zod issues as field problems: one per field, unknown keys named one by one. */
export function toFieldProblems(error: z.ZodError): FieldProblem[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatLocation([...base, key]), code: 'unknown-field', message: `Unknown field "${key}".` }));
    }
    return [{ path: formatLocation(base), code: issue.code.replace(/_/g, '-'), message: issue.message }];
  });
}

/** Parses `input` with `schema` or throws VALIDATION_FAILED listing every wrong field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string): z.infer<S> {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw new DomainError('VALIDATION_FAILED', `The ${what} is not valid.`, { errors: toFieldProblems(result.error) });
  }
  return result.data;
}
