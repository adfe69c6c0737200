import { isApiError } from '../api/problem';

/** A problem in words. `write`: the refused request would have written, so it says nothing was written. */
export function ProblemNotice({ error, write = false }: { error: unknown; write?: boolean }) {
  if (!error) return null;
  const problem = isApiError(error) ? error.problem : null;
  const detail = problem?.detail ?? (error instanceof Error ? error.message : 'Something went wrong.');
  const fields = problem?.errors ?? [];
  return (
    <div role="alert" className="rounded border border-red-300 bg-red-50 p-3 text-sm text-red-900">
      <p>
        <strong>{problem?.title ?? 'Refused'}:</strong> {detail}
      </p>
      {fields.length > 0 && (
        <ul className="mt-1 list-disc pl-5">
          {fields.map((f) => (
            <li key={`${f.path}:${f.code}`}>
              <code>{f.path || 'request'}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
      {write && <p className="mt-1 font-medium">Nothing was written.</p>}
      {problem?.code && (
        <p className="mt-1 text-xs text-red-800">
          Code {problem.code}
          {problem.requestId ? ` · request ${problem.requestId}` : ''}
        </p>
      )}
    </div>
  );
}

/** The words a problem has for one field, shown under that field. */
export function fieldProblem(error: unknown, path: string): string | undefined {
  return isApiError(error) ? error.fieldMessage(path) : undefined;
}
