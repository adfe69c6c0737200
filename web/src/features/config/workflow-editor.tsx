import { Button } from '../../ui/button';
import { Field, input } from './schema-form';
import { asList, blankItem, FieldMessage, freshId, ItemControls, schemaAt, Section, TopField, type EditorProps } from './editor-parts';

/** A workflow: its steps in order, each with its actions; an action may be restricted to the teams and roles it names. */
export function WorkflowEditor({ type, value, change, error, readOnly }: EditorProps) {
  const steps = asList(value.steps);
  const stepName = (id: unknown) => steps.find((s) => s.id === id)?.name as string | undefined;
  return (
    <div className="space-y-4">
      <TopField type={type} name="name" value={value} change={change} />
      <TopField type={type} name="description" value={value} change={change} />
      <Section title="Steps" field="steps" help="A ticket of this workflow is in one step at a time; the step's actions move it on. The order here is the order the console lists them.">
        <FieldMessage error={error} location={['steps']} />
        <ol className="space-y-3">
          {steps.map((step, s) => {
            const what = `step ${String(step.name || s + 1)}`;
            const actions = asList(step.actions);
            return (
              <li key={s} className="space-y-3 rounded border border-slate-200 bg-slate-50 p-3" data-step={String(step.id)}>
                <div className="flex flex-wrap items-center gap-3">
                  <h3 className="font-semibold">
                    Step {s + 1}
                    {step.name ? `: ${String(step.name)}` : ''}
                  </h3>
                  <label className="inline-flex items-center gap-1 text-sm">
                    <input type="radio" name="startStepId" disabled={readOnly} checked={value.startStepId === step.id} onChange={() => change(['startStepId'], step.id)} />
                    New tickets start here
                  </label>
                  <span className="ml-auto">
                    <ItemControls list={steps} index={s} location={['steps']} what={what} change={change} readOnly={readOnly || steps.length === 1} />
                  </span>
                </div>
                <div className="grid gap-3 sm:grid-cols-3">
                  <Field name="name" schema={schemaAt(type.schema, ['steps', '[]', 'name'])} value={step.name} location={['steps', s, 'name']} required change={change} />
                  <Field name="stepId" schema={schemaAt(type.schema, ['steps', '[]', 'id'])} value={step.id} location={['steps', s, 'id']} required change={change} />
                  <Field name="statusId" schema={schemaAt(type.schema, ['steps', '[]', 'statusId'])} value={step.statusId} location={['steps', s, 'statusId']} required={false} change={change} />
                </div>
                <div className="space-y-2">
                  <h4 className="text-sm font-semibold">Actions of this step</h4>
                  {actions.length === 0 && <p className="text-sm text-slate-600">No actions: tickets stay in this step.</p>}
                  <ol className="space-y-2">
                    {actions.map((action, a) => {
                      const at = ['steps', s, 'actions', a];
                      const actionWhat = `action ${String(action.name || a + 1)} of ${what}`;
                      const nextId = `next-${s}-${a}`;
                      return (
                        <li key={a} className="space-y-2 rounded border border-slate-200 bg-white p-3" data-action={String(action.id)}>
                          <div className="flex flex-wrap items-center gap-3">
                            <h5 className="text-sm font-semibold">Action {String(action.name || a + 1)}</h5>
                            <span className="ml-auto">
                              <ItemControls list={actions} index={a} location={['steps', s, 'actions']} what={actionWhat} change={change} readOnly={readOnly} />
                            </span>
                          </div>
                          <div className="grid gap-3 sm:grid-cols-2">
                            <Field name="name" schema={schemaAt(type.schema, ['steps', '[]', 'actions', '[]', 'name'])} value={action.name} location={[...at, 'name']} required change={change} />
                            <Field name="actionId" schema={schemaAt(type.schema, ['steps', '[]', 'actions', '[]', 'id'])} value={action.id} location={[...at, 'id']} required change={change} />
                            <div data-field={`steps[${s}].actions[${a}].nextStepId`}>
                              <label htmlFor={nextId} className="mb-1 block text-sm font-medium text-slate-800">
                                Moves the ticket to
                              </label>
                              <select id={nextId} className={input} disabled={readOnly} value={typeof action.nextStepId === 'string' ? action.nextStepId : ''} onChange={(e) => change([...at, 'nextStepId'], e.target.value || undefined)}>
                                <option value="">— stays in this step —</option>
                                {steps.map((target) => (
                                  <option key={String(target.id)} value={String(target.id)}>
                                    {String(target.name || target.id)}
                                  </option>
                                ))}
                                {typeof action.nextStepId === 'string' && !stepName(action.nextStepId) && <option value={action.nextStepId}>{action.nextStepId} (no such step)</option>}
                              </select>
                              <FieldMessage error={error} location={[...at, 'nextStepId']} />
                            </div>
                            <Field name="setStatusId" schema={schemaAt(type.schema, ['steps', '[]', 'actions', '[]', 'setStatusId'])} value={action.setStatusId} location={[...at, 'setStatusId']} required={false} change={change} />
                          </div>
                          <label className="inline-flex items-center gap-2 text-sm font-medium">
                            <input
                              type="checkbox"
                              disabled={readOnly}
                              checked={action.restrictAccess === true}
                              onChange={(e) => change([...at, 'restrictAccess'], e.target.checked)}
                            />
                            Restrict access to this action
                          </label>
                          {action.restrictAccess === true ? (
                            <div className="space-y-3 border-l-4 border-blue-200 pl-3" aria-label={`Who may use ${String(action.name || 'this action')}`} role="group">
                              <p className="text-sm text-slate-700">Only agents in these teams, or holding these roles, see and use this action.</p>
                              <Field name="restrictToTeamIds" schema={schemaAt(type.schema, ['steps', '[]', 'actions', '[]', 'restrictToTeamIds'])} value={action.restrictToTeamIds} location={[...at, 'restrictToTeamIds']} required={false} change={change} />
                              <Field name="restrictToRoleIds" schema={schemaAt(type.schema, ['steps', '[]', 'actions', '[]', 'restrictToRoleIds'])} value={action.restrictToRoleIds} location={[...at, 'restrictToRoleIds']} required={false} change={change} />
                            </div>
                          ) : (
                            <p className="text-sm text-slate-600">Every agent who may work the ticket can use it.</p>
                          )}
                        </li>
                      );
                    })}
                  </ol>
                  {!readOnly && (
                    <Button onPress={() => change(['steps', s, 'actions'], [...actions, blankItem(type, ['steps', '[]', 'actions', '[]'], { id: freshId('action', actions), name: '' })])}>
                      Add an action to {what}
                    </Button>
                  )}
                </div>
              </li>
            );
          })}
        </ol>
        {!readOnly && (
          <Button
            onPress={() => {
              const id = freshId('step', steps);
              change([], { ...value, steps: [...steps, blankItem(type, ['steps', '[]'], { id, name: '' })], startStepId: value.startStepId || id });
            }}
          >
            Add a step
          </Button>
        )}
        <FieldMessage error={error} location={['startStepId']} />
      </Section>
      <TopField type={type} name="olas" value={value} change={change} />
    </div>
  );
}
