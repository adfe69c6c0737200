import type { ErrorComponentProps } from '@tanstack/react-router';
import { ProblemNotice } from './problem-notice';

export function RouteError({ error }: ErrorComponentProps) {
  return (
    <main className="mx-auto max-w-3xl p-6">
      <h1 className="mb-3 text-xl font-semibold">This screen could not be shown</h1>
      <ProblemNotice error={error} />
    </main>
  );
}
