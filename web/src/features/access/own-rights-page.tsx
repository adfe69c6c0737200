import { useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { instanceQuery } from '../../api/queries';
import { ProblemNotice } from '../../ui/problem-notice';
import { ownRightsQuery } from './access-queries';
import { RightsView } from './rights-view';

/** What the signed-in agent may do here, and which of its roles gives each right: open to every agent. */
export function OwnRightsPage() {
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const rights = useQuery(ownRightsQuery);
  return (
    <main className="mx-auto max-w-4xl space-y-4 p-4">
      <h1 id="own-rights-heading" className="text-xl font-semibold">
        Your access
      </h1>
      <p className="text-sm">
        What <strong>{instance.you.name}</strong> may do on this instance, and which role gives it. The console offers the screens these rights cover; the instance refuses the rest.
      </p>
      <ProblemNotice error={rights.error} />
      {rights.data && <RightsView rights={rights.data} labelledBy="own-rights-heading" />}
    </main>
  );
}
