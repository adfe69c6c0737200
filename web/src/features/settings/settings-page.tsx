import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useState } from 'react';
import { settingsQuery, updateSettings, type Settings } from '../../api/sync';
import { Button } from '../../ui/button';
import { fieldProblem, ProblemNotice } from '../../ui/problem-notice';

type Key = keyof Settings;

/** Every instance setting of the guide, in its words, with what it does here. */
const settings: { key: Key; label: string; explanation: string }[] = [
  {
    key: 'configTracking',
    label: 'Config change tracking',
    explanation: 'Capture a change, with its snapshot and rollback script, for every save of a config-tracked entity. Without it nothing is recorded, rolled back or synced.',
  },
  {
    key: 'disableConfigEditing',
    label: 'Disable editing of config-tracked entities (production lock)',
    explanation: 'Nobody edits tracked configuration here directly; changes come only along the pipeline. Administrators see a banner and may lift the lock in an emergency: that is audited and the lock must be turned back on by hand.',
  },
  {
    key: 'refusePushes',
    label: 'Do not allow config changes from other instances to be pushed to this instance',
    explanation: 'Pull-only: changes arrive only when someone here pulls them. Use it when the administrators of the instances are not the same people.',
  },
  {
    key: 'skipDiffCheck',
    label: "Don't check diffs when getting changes to sync",
    explanation: 'Push and pull send every change since the last complete sync instead of reconciling exactly. Changes the other side has still arrive only as already present, but behind and ahead counts may include them. Only with pipelines; do not cherry-pick then.',
  },
  {
    key: 'useThirdPartyIds',
    label: 'Use third-party ids for linking agents, users, roles, teams and CABs to change-tracked entities',
    explanation: "Roles, ticket rules, approval processes and assets also name agents and users by their id in your identity or CMDB system, so they resolve on every instance whatever the record's local id.",
  },
  {
    key: 'trackServices',
    label: 'Enable config change tracking for services and business applications',
    explanation: 'Assets marked as a service or business application become config-tracked and travel along the pipeline.',
  },
  {
    key: 'trackReportsAndDashboards',
    label: 'Enable config change tracking for reports and dashboards',
    explanation: 'Reports and dashboards become config-tracked and travel along the pipeline.',
  },
  {
    key: 'trackMailboxes',
    label: 'Enable config change tracking for mailboxes',
    explanation: 'Mailbox configuration travels along the pipeline, with credentials per instance so each instance reads only its own mailbox.',
  },
];

function SettingRow({ setting, value, onChange, pending, error }: { setting: (typeof settings)[number]; value: boolean; onChange: (value: boolean) => void; pending: boolean; error: unknown }) {
  const id = `setting-${setting.key}`;
  const problem = fieldProblem(error, setting.key);
  return (
    <li className="flex gap-3 border-b border-slate-200 px-4 py-3 last:border-0">
      <input id={id} type="checkbox" className="mt-1 h-4 w-4" checked={value} disabled={pending} onChange={(e) => onChange(e.target.checked)} aria-describedby={`${id}-help`} aria-invalid={problem ? true : undefined} />
      <div>
        <label htmlFor={id} className="font-medium">
          {setting.label}
        </label>
        <p id={`${id}-help`} className="text-sm text-slate-600">
          {setting.explanation}
        </p>
        {problem && <p className="text-sm text-red-800">{problem}</p>}
      </div>
    </li>
  );
}

/** Configuration > Advanced settings: instance-local, never synced; every change is audited. */
export function SettingsPage() {
  const queryClient = useQueryClient();
  const current = useQuery(settingsQuery);
  const [liftPending, setLiftPending] = useState(false);
  const save = useMutation({
    mutationFn: updateSettings,
    onSuccess: async (next) => {
      queryClient.setQueryData(settingsQuery.queryKey, next);
      await queryClient.invalidateQueries({ queryKey: ['instance'] });
    },
  });
  // While a change is on its way the box shows what was asked, from the click on (the mutation's own pending state
  // arrives a tick later, and a controlled box would flip back meanwhile); the answer then decides.
  const [asked, setAsked] = useState<Partial<Record<Key, boolean>>>({});
  const shown = (key: Key, data: Settings) => asked[key] ?? data[key];
  const change = (key: Key, value: boolean) => {
    // Lifting the lock is an emergency step: it asks first.
    if (key === 'disableConfigEditing' && !value) return setLiftPending(true);
    setAsked({ [key]: value });
    save.mutate({ [key]: value }, { onSettled: () => setAsked({}) });
  };

  return (
    <main className="mx-auto max-w-4xl px-4 py-4">
      <div className="mb-3 flex items-end">
        <div className="mr-auto">
          <h1 className="text-xl font-semibold">Advanced settings</h1>
          <p className="text-sm text-slate-600">Settings of this instance alone: never tracked, never synced. Every change is recorded in the audit log.</p>
        </div>
        <Link to="/audit" search={{ kind: 'settings.changed' }} className="text-sm text-blue-800 underline">
          Settings changes in the audit log
        </Link>
      </div>
      {current.isPending && <p className="text-sm text-slate-600">Loading the settings…</p>}
      <ProblemNotice error={current.error} />
      {current.data && (
        <ul className="rounded border border-slate-300 bg-white" aria-label="Settings">
          {settings.map((s) => (
            <SettingRow key={s.key} setting={s} value={shown(s.key, current.data)} onChange={(v) => change(s.key, v)} pending={save.isPending} error={save.error} />
          ))}
        </ul>
      )}
      {liftPending && (
        <div role="alertdialog" aria-labelledby="lift-h" className="mt-3 rounded border border-amber-400 bg-amber-50 p-3 text-sm">
          <p id="lift-h" className="font-semibold">
            Lift the production lock?
          </p>
          <p>Config-tracked entities become editable here at once. This is recorded in the audit log with your name, and the lock does not come back by itself.</p>
          <div className="mt-2 flex gap-2">
            <Button autoFocus onPress={() => setLiftPending(false)}>
              Keep the lock
            </Button>
            <Button
              look="danger"
              onPress={() => {
                setLiftPending(false);
                save.mutate({ disableConfigEditing: false });
              }}
            >
              Lift the lock
            </Button>
          </div>
        </div>
      )}
      <div className="mt-3" aria-live="polite">
        {save.isSuccess && <p className="text-sm text-emerald-800">Saved.</p>}
        <ProblemNotice error={save.error} write />
      </div>
    </main>
  );
}
