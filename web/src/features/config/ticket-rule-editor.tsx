import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';
import { useId } from 'react';
import { api } from '../../api/client';
import { unwrap } from '../../api/problem';
import { Button } from '../../ui/button';
import { blankOf, variantsOf, type JsonSchema, type Location } from './json-schema';
import { Field, input, type Change } from './schema-form';
import { words } from './words';
import { asList, FieldMessage, ItemControls, RecordsPicker, schemaAt, Section, TopField, type EditorProps } from './editor-parts';

const FIELD_WORDS: Record<string, string> = { customer: 'Customer', 'ticket-type': 'Ticket type', summary: 'Summary', details: 'Details', priority: 'Priority', team: 'Team', agent: 'Agent', status: 'Status' };
const USE_WORDS = { 'new-tickets': 'New tickets', 'updated-tickets': 'Updated tickets', both: 'New and updated tickets' } as const;

interface RuleInOrder {
  id: string;
  name: string;
  sequence: number;
}

const byOrder = (a: RuleInOrder, b: RuleInOrder) => a.sequence - b.sequence || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A ticket rule: when (criteria, all of which must match) and then (outcomes), in its place among the other rules. */
export function TicketRuleEditor({ type, value, change, error, readOnly, entityId }: EditorProps & { entityId: string | null }) {
  const criteria = asList(value.criteria);
  const outcomes = asList(value.outcomes);
  const useId_ = useId();
  return (
    <div className="space-y-4">
      <TopField type={type} name="name" value={value} change={change} />
      <TopField type={type} name="description" value={value} change={change} />
      <div className="flex flex-wrap gap-6">
        <fieldset data-field="use">
          <legend className="mb-1 text-sm font-medium">Use for</legend>
          <div className="flex gap-4">
            {Object.entries(USE_WORDS).map(([key, label]) => (
              <label key={key} className="inline-flex items-center gap-1 text-sm">
                <input type="radio" name={`${useId_}-use`} disabled={readOnly} checked={(value.use ?? 'new-tickets') === key} onChange={() => change(['use'], key)} />
                {label}
              </label>
            ))}
          </div>
        </fieldset>
        <label className="inline-flex items-center gap-2 text-sm font-medium" data-field="stopWhenMatched">
          <input type="checkbox" disabled={readOnly} checked={value.stopWhenMatched === true} onChange={(e) => change(['stopWhenMatched'], e.target.checked)} />
          Stop matching other rules when matched
        </label>
        <label className="inline-flex items-center gap-2 text-sm font-medium" data-field="enabled">
          <input type="checkbox" disabled={readOnly} checked={value.enabled !== false} onChange={(e) => change(['enabled'], e.target.checked)} />
          Enabled
        </label>
      </div>
      <Section title="Criteria" field="criteria" help="The rule matches a ticket when every criterion holds.">
        <FieldMessage error={error} location={['criteria']} />
        <Rows kind="criteria" list={criteria} schema={schemaAt(type.schema, ['criteria', '[]'])} change={change} error={error} readOnly={readOnly} />
      </Section>
      <Section title="Outcomes" field="outcomes" help="What a matching ticket is given, in this order.">
        <FieldMessage error={error} location={['outcomes']} />
        <Rows kind="outcomes" list={outcomes} schema={schemaAt(type.schema, ['outcomes', '[]'])} change={change} error={error} readOnly={readOnly} />
      </Section>
      <RuleOrder value={value} entityId={entityId} change={change} readOnly={readOnly} />
    </div>
  );
}

/** Criteria or outcomes: each a row "field, operator, value", the value's input fitting the field. */
function Rows({ kind, list, schema, change, error, readOnly }: { kind: 'criteria' | 'outcomes'; list: Record<string, unknown>[]; schema: JsonSchema; change: Change; error: unknown; readOnly: boolean }) {
  const variants = variantsOf(schema);
  const singular = kind === 'criteria' ? 'criterion' : 'outcome';
  return (
    <div className="space-y-2">
      {list.length === 0 && <p className="text-sm text-slate-600">None yet.</p>}
      <ol className="space-y-2">
        {list.map((row, index) => {
          const variant = variants.find((v) => v.properties?.field?.const === row.field) ?? variants[0]!;
          const at: Location = [kind, index];
          const what = `${singular} ${index + 1}`;
          return (
            <li key={index} className="flex flex-wrap items-start gap-3 rounded border border-slate-200 bg-slate-50 p-2" data-row={`${kind}[${index}]`}>
              <label className="flex flex-col gap-1 text-sm">
                <span className="font-medium">{`${words(singular)} ${index + 1}: field`}</span>
                <select className={input} disabled={readOnly} value={String(row.field)} onChange={(e) => change(at, blankOf(variants.find((v) => v.properties?.field?.const === e.target.value)!))}>
                  {variants.map((v) => {
                    const field = String(v.properties!.field!.const);
                    return (
                      <option key={field} value={field}>
                        {FIELD_WORDS[field] ?? field}
                      </option>
                    );
                  })}
                </select>
              </label>
              <div className="min-w-64 flex-1 space-y-2">
                {Object.entries(variant.properties ?? {}).map(([key, property]) => {
                  if (key === 'field') return null;
                  if (key === 'customerIds')
                    return <RecordsPicker key={key} kind="customers" label="Customers" chosen={(row.customerIds as string[] | undefined) ?? []} onChange={(next) => change([...at, key], next)} readOnly={readOnly} location={[...at, key]} error={error} />;
                  if (key === 'agentId')
                    return (
                      <RecordsPicker
                        key={key}
                        kind="agents"
                        label="Agent"
                        chosen={typeof row.agentId === 'string' && row.agentId ? [row.agentId] : []}
                        onChange={(next) => change([...at, key], next.at(-1) ?? '')}
                        readOnly={readOnly}
                        location={[...at, key]}
                        error={error}
                      />
                    );
                  return <Field key={key} name={key} schema={property} value={row[key]} location={[...at, key]} required={(variant.required ?? []).includes(key)} change={change} />;
                })}
              </div>
              <ItemControls list={list} index={index} location={[kind]} what={what} change={change} readOnly={readOnly} />
            </li>
          );
        })}
      </ol>
      {!readOnly && <Button onPress={() => change([kind], [...list, blankOf(variants[0]!)])}>Add {kind === 'criteria' ? 'a criterion' : 'an outcome'}</Button>}
    </div>
  );
}

/** Where this rule stands among the enabled and disabled rules, lowest sequence first; moving it changes its sequence only. */
function RuleOrder({ value, entityId, change, readOnly }: { value: Record<string, unknown>; entityId: string | null; change: Change; readOnly: boolean }) {
  const others = useQuery({
    queryKey: ['config', 'ticket-rules', 'order'],
    queryFn: async ({ signal }) =>
      unwrap(await api.GET('/v1/config/{type}', { params: { path: { type: 'ticket-rules' }, query: { limit: 200 } }, signal })).items.map((r) => ({
        id: r.id,
        name: r.name,
        sequence: typeof r.body.sequence === 'number' ? r.body.sequence : 0,
      })),
  });
  const self: RuleInOrder = { id: entityId ?? '~new', name: String(value.name || 'This rule'), sequence: typeof value.sequence === 'number' ? value.sequence : 0 };
  const order = [...(others.data ?? []).filter((r) => r.id !== entityId), self].sort(byOrder);
  const at = order.findIndex((r) => r.id === self.id);
  const to = (sequence: number) => change(['sequence'], Math.min(100_000, Math.max(0, sequence)));
  return (
    <Section title="Order among rules" help="Rules are tried lowest sequence first (then by name). A rule that stops matching hides the rules after it.">
      <ol className="list-decimal space-y-1 pl-6 text-sm" aria-label="Rules in order">
        {order.map((rule) => (
          <li key={rule.id} className={rule.id === self.id ? 'font-semibold' : ''} aria-current={rule.id === self.id ? 'true' : undefined}>
            {rule.id === self.id ? (
              `${rule.name} (this rule)`
            ) : (
              <Link to="/config/$type/$id" params={{ type: 'ticket-rules', id: rule.id }} className="text-blue-800 underline">
                {rule.name}
              </Link>
            )}{' '}
            <span className="text-slate-600">· sequence {rule.sequence}</span>
          </li>
        ))}
      </ol>
      {!readOnly && (
        <div className="flex gap-2">
          <Button isDisabled={at <= 0 || (order[at - 1]!.sequence === 0 && self.sequence === 0)} onPress={() => to(order[at - 1]!.sequence - 1)}>
            Move earlier
          </Button>
          <Button isDisabled={at === order.length - 1} onPress={() => to(order[at + 1]!.sequence + 1)}>
            Move later
          </Button>
        </div>
      )}
    </Section>
  );
}
