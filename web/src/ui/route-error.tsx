import type { ErrorComponentProps } from '@tanstack/react-router';
import { isApiError } from '../api/problem';
import { isNotAllowed, NotAllowed } from './not-allowed';
import { ProblemNotice } from './problem-notice';

export function RouteError({ error }: ErrorComponentProps) {
  if (isNotAllowed(error)) return <NotAllowed permission={error.permission} />;
  if (isApiError(error) && error.status === 403) return <NotAllowed permission={typeof error.problem.permission === 'string' ? error.problem.permission : null} />;
  return (
    <main className="mx-auto max-w-3xl p-6">
      <h1 className="mb-3 text-xl font-semibold">This screen could not be shown</h1>
      <ProblemNotice error={error} />
    </main>
  );
}
