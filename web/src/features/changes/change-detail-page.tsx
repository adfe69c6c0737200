import { useQuery, useSuspenseQuery } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { useState } from 'react';
import { changeQuery, instanceQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { formatTime, operationLabels } from '../../ui/format';
import { ProblemNotice } from '../../ui/problem-notice';
import { TrackingIcon } from '../../ui/tracking-icon';
import { useOrigins } from './change-filters';
import { DependencyGraph } from './dependency-graph';
import { FieldDiff } from './field-diff';
import { RollbackDialog } from './rollback-dialog';
import { RollbackScript } from './rollback-script';

const route = getRouteApi('/app/changes/$changeId');

function Fact({ label, wide = false, children }: { label: string; wide?: boolean; children: React.ReactNode }) {
  return (
    <div className={wide ? 'col-span-2' : ''}>
      <dt className="text-xs font-medium tracking-wide text-slate-600 uppercase">{label}</dt>
      <dd className="text-sm break-words">{children}</dd>
    </div>
  );
}

export function ChangeDetailPage() {
  const { changeId } = route.useParams();
  const change = useQuery(changeQuery(changeId));
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const origins = useOrigins();
  const [rollingBack, setRollingBack] = useState(false);
  const canRollBack = instance.you.permissions.includes('changes:rollback');

  if (change.isPending) return <p className="p-6 text-sm text-slate-600">Loading the change…</p>;
  if (change.isError)
    return (
      <main className="mx-auto max-w-3xl p-6">
        <ProblemNotice error={change.error} />
        <Link to="/changes" className="mt-3 inline-block text-blue-800 underline">
          Back to the change list
        </Link>
      </main>
    );
  const c = change.data;
  const request = c.request;

  return (
    <main className="mx-auto max-w-7xl space-y-5 px-4 py-4">
      <nav aria-label="Breadcrumb" className="text-sm">
        <Link to="/changes" className="text-blue-800 underline">
          Changes
        </Link>{' '}
        / <span className="font-mono">{c.id}</span>
      </nav>
      <div className="flex flex-wrap items-start gap-3">
        <div className="mr-auto">
          <h1 className="flex items-center gap-2 text-xl font-semibold">
            {operationLabels[c.op]} {c.type}: {c.entityName || c.entityId} <TrackingIcon />
          </h1>
          {c.revertOf && (
            <p className="text-sm">
              A rollback of{' '}
              <Link to="/changes/$changeId" params={{ changeId: c.revertOf }} className="font-mono text-blue-800 underline">
                {c.revertOf}
              </Link>
            </p>
          )}
        </div>
        {canRollBack && (
          <Button look="danger" onPress={() => setRollingBack(true)}>
            Roll back before this change…
          </Button>
        )}
      </div>
      <dl className="grid grid-cols-2 gap-3 rounded border border-slate-200 bg-white p-3 md:grid-cols-4">
        <Fact label="Who">
          {c.actor.name} <span className="text-slate-600">({c.actor.kind})</span>
        </Fact>
        <Fact label="When">{formatTime(c.at)}</Fact>
        <Fact label="Origin">{origins.get(c.origin) ?? `instance ${c.origin}`} · #{c.originSeq}</Fact>
        <Fact label="Change set">
          {c.changeSet ? (
            <Link to="/changes" search={{ changeSet: c.changeSet }} className="text-blue-800 underline">
              {c.changeSet}
            </Link>
          ) : (
            'none'
          )}
        </Fact>
        <Fact label="From where" wide>
          {request ? (
            <>
              {request.method} {request.path}
              <br />
              {request.remoteAddress ?? 'address unknown'}
              {request.clientApplication ? ` · ${request.clientApplication}` : ''}
              {request.userAgent ? <span className="block text-xs text-slate-600">{request.userAgent}</span> : null}
              <span className="block text-xs text-slate-600">request {request.requestId}</span>
            </>
          ) : (
            'Not made through the API (start-up, the command line or a background job)'
          )}
        </Fact>
        {c.received && (
          <Fact label="Brought here">
            by {c.received.actor.name}, {c.received.operation} via {c.received.via}, {formatTime(c.received.at)}
          </Fact>
        )}
        <Fact label="Sequence">#{c.seq}</Fact>
        <Fact label="Digest">
          <code className="text-xs break-all">{c.digest}</code>
        </Fact>
      </dl>
      <FieldDiff change={c} />
      <DependencyGraph change={c} />
      <section aria-labelledby="script-heading">
        <h2 id="script-heading" className="mb-2 text-lg font-semibold">
          Rollback script
        </h2>
        <p className="mb-1 text-sm text-slate-600">What rolling back this change alone writes (secrets masked).</p>
        <RollbackScript script={c.rollbackScript} />
      </section>
      {canRollBack && <RollbackDialog change={c} isOpen={rollingBack} onClose={() => setRollingBack(false)} />}
    </main>
  );
}
