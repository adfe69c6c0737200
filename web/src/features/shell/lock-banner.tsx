import { useMutation, useQueryClient, useSuspenseQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { instanceQuery, setEditingDisabled } from '../../api/queries';
import { Button } from '../../ui/button';
import { Dialog } from '../../ui/dialog';
import { ProblemNotice } from '../../ui/problem-notice';

/** Administrators see the production lock; lifting it is an audited emergency step, turned back on by hand. */
export function LockBanner() {
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const lift = useMutation({
    mutationFn: () => setEditingDisabled(false),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['instance'] });
      setConfirming(false);
    },
  });
  const banner = instance.banners.find((b) => b.code === 'CONFIG_EDITING_DISABLED');
  if (!banner) return null;
  return (
    <div className="border-b border-amber-300 bg-amber-100" role="region" aria-label="Production lock">
      <div className="mx-auto flex max-w-7xl flex-wrap items-center gap-3 px-4 py-2 text-sm text-amber-950">
        <svg aria-hidden="true" viewBox="0 0 16 16" className="h-4 w-4 fill-current">
          <path d="M4 7V5a4 4 0 1 1 8 0v2h1v8H3V7Zm2 0h4V5a2 2 0 1 0-4 0Z" />
        </svg>
        <p className="flex-1">{banner.message}</p>
        <Button look="secondary" onPress={() => setConfirming(true)}>
          Lift the lock…
        </Button>
      </div>
      <Dialog title="Lift the production lock?" isOpen={confirming} onClose={() => setConfirming(false)} busy={lift.isPending}>
        <div className="space-y-3 text-sm">
          <p>Config-tracked entities become editable on {'this instance'} at once, for everyone with the rights to edit them.</p>
          <p>
            <strong>This is recorded in the audit log</strong> with your name. The lock <strong>does not come back by itself</strong>: turn it back on by
            hand in the settings when the emergency is over.
          </p>
          <ProblemNotice error={lift.error} write />
          <div className="flex justify-end gap-2 pt-2">
            <Button slot="close" isDisabled={lift.isPending} onPress={() => setConfirming(false)}>
              Keep the lock
            </Button>
            <Button look="danger" isDisabled={lift.isPending} onPress={() => lift.mutate()}>
              {lift.isPending ? 'Lifting…' : 'Lift the lock'}
            </Button>
          </div>
        </div>
      </Dialog>
    </div>
  );
}
