import { useSuspenseQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { isApiError } from '../../api/problem';
import { instanceQuery } from '../../api/queries';
import { Button } from '../../ui/button';
import { Field } from './schema-form';
import { asList, FieldMessage, RecordsPicker, schemaAt, Section, TopField, type EditorProps } from './editor-parts';

const ACCESS = [
  ['configAccess', 'Configuration'],
  ['ticketAccess', 'Tickets'],
  ['customerAccess', 'Customers (clients) and their assets'],
  ['userAccess', 'Users'],
  ['assetAccess', 'Assets'],
] as const;
const LEVELS = [
  ['none', 'No access'],
  ['read', 'Read'],
  ['modify', 'Read and modify'],
] as const;

/** The ticket permissions in the words of the least-privilege integration guide. */
export const TICKET_PERMISSIONS = [
  ['addTickets', 'Can add new tickets'],
  ['editClosedTickets', 'Can edit closed tickets'],
  ['viewUnassignedTickets', 'Can view unassigned tickets'],
  ['viewTicketsAssignedToOthers', 'Can view tickets that are assigned to other agents'],
  ['changeTicketType', 'Can change a ticket’s ticket type'],
  ['reassignTickets', 'Can re-assign tickets'],
  ['assignOutsideOwnTeams', 'Can assign to agents in teams the agent is not a member of'],
  ['editTicketsNotAssigned', 'Can edit tickets which are not assigned to them'],
  ['overrideMaxPriority', 'Can override maximum priority escalation at ticket type level'],
  ['overrideReviewProcessing', 'Can override ticket review processing'],
  ['treatAsSpam', 'Can use the Treat as Spam button and edit action visibility for users'],
  ['exportTickets', 'Can export tickets'],
] as const;

/** A role: what it grants (access levels, ticket permissions, teams), what it restricts (clients, ticket groups), who holds it. */
export function RoleEditor({ type, value, change, error, readOnly }: EditorProps) {
  const id = useId();
  const permissions = (value.ticketPermissions ?? {}) as Record<string, boolean>;
  const memberships = asList(value.teamMemberships);
  const clients = (value.customerRestrictions ?? {}) as { allowAllCustomers?: boolean; customerIds?: string[] };
  const groups = (value.ticketGroupRestrictions ?? {}) as { restrictToGroups?: boolean; ticketGroupIds?: string[] };
  const { data: instance } = useSuspenseQuery(instanceQuery);
  const holders = (value.agentIds as string[] | undefined) ?? [];
  const refusedAccess = isApiError(error) && error.problem.code === 'FORBIDDEN' ? error : null;
  return (
    <div className="space-y-4">
      <TopField type={type} name="name" value={value} change={change} />
      <TopField type={type} name="description" value={value} change={change} />

      <Section title="Access levels" help="What agents with this role reach in each area.">
        <table className="text-sm">
          <thead>
            <tr>
              <th className="pr-4 text-left font-semibold">Area</th>
              {LEVELS.map(([level, label]) => (
                <th key={level} className="px-3 font-semibold">
                  {label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {ACCESS.map(([key, label]) => (
              <tr key={key} data-field={key}>
                <th scope="row" className="py-1 pr-4 text-left font-normal">
                  {label}
                </th>
                {LEVELS.map(([level, levelLabel]) => (
                  <td key={level} className="px-3 text-center">
                    <input type="radio" name={`${id}-${key}`} aria-label={`${label}: ${levelLabel}`} disabled={readOnly} checked={(value[key] ?? 'none') === level} onChange={() => change([key], level)} />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
        <label className="flex items-center gap-2 text-sm" data-field="canPushConfig">
          <input type="checkbox" disabled={readOnly} checked={value.canPushConfig === true} onChange={(e) => change(['canPushConfig'], e.target.checked)} />
          Can push configuration changes to other instances
        </label>
        <label className="flex items-center gap-2 text-sm" data-field="canApprovePromotions">
          <input type="checkbox" disabled={readOnly} checked={value.canApprovePromotions === true} onChange={(e) => change(['canApprovePromotions'], e.target.checked)} />
          Can approve or reject promotion requests into this instance
        </label>
        <label className="flex items-center gap-2 text-sm" data-field="canBypassPromotionWindows">
          <input type="checkbox" disabled={readOnly} checked={value.canBypassPromotionWindows === true} onChange={(e) => change(['canBypassPromotionWindows'], e.target.checked)} />
          Can apply an approved request outside deploy windows and freezes in an emergency (with a reason)
        </label>
      </Section>

      <Section title="Ticket permissions" help="Grant only what the agents need: the least-privilege integration guide lists all twelve for an integration's API-only agent; a co-managed team needs far fewer.">
        <ul className="grid gap-1 sm:grid-cols-2">
          {TICKET_PERMISSIONS.map(([key, label]) => (
            <li key={key}>
              <label className="inline-flex items-start gap-2 text-sm">
                <input type="checkbox" className="mt-1" disabled={readOnly} checked={permissions[key] === true} onChange={(e) => change(['ticketPermissions', key], e.target.checked)} />
                {label}
              </label>
            </li>
          ))}
        </ul>
        {!readOnly && (
          <div className="flex gap-2">
            <Button onPress={() => change(['ticketPermissions'], Object.fromEntries(TICKET_PERMISSIONS.map(([key]) => [key, true])))}>Grant the twelve of the least-privilege guide</Button>
            <Button look="quiet" onPress={() => change(['ticketPermissions'], Object.fromEntries(TICKET_PERMISSIONS.map(([key]) => [key, false])))}>
              Clear all
            </Button>
          </div>
        )}
      </Section>

      <Section title="Departments & teams" help="Agents with this role are members of these teams. Read: the team’s tickets are within reach, changed as the ticket permissions allow; modify: they are the members’ own work.">
        {memberships.length === 0 && <p className="text-sm text-slate-600">Member of no team.</p>}
        <ol className="space-y-2">
          {memberships.map((membership, index) => (
            <li key={index} className="flex flex-wrap items-end gap-3 rounded border border-slate-200 bg-slate-50 p-2">
              <div className="min-w-64 flex-1">
                <Field name="teamId" schema={schemaAt(type.schema, ['teamMemberships', '[]', 'teamId'])} value={membership.teamId} location={['teamMemberships', index, 'teamId']} required change={change} />
              </div>
              <label className="flex flex-col gap-1 text-sm">
                <span className="font-medium">Access to the team’s tickets</span>
                <select className="rounded border border-slate-400 px-2 py-1" disabled={readOnly} value={String(membership.access ?? 'read')} onChange={(e) => change(['teamMemberships', index, 'access'], e.target.value)}>
                  <option value="read">Read</option>
                  <option value="modify">Modify</option>
                </select>
              </label>
              {!readOnly && (
                <Button look="quiet" aria-label={`Remove team membership ${index + 1}`} onPress={() => change(['teamMemberships'], memberships.filter((_, i) => i !== index))}>
                  Remove
                </Button>
              )}
            </li>
          ))}
        </ol>
        {!readOnly && <Button onPress={() => change(['teamMemberships'], [...memberships, { teamId: '', access: 'read' }])}>Add a team membership</Button>}
      </Section>

      <Section title="Client restrictions" help="Co-managed agents should see only the clients their provider supports: their tickets, users, assets and the search bar.">
        <fieldset data-field="customerRestrictions.allowAllCustomers">
          <legend className="mb-1 text-sm font-medium">Allow use of all customers</legend>
          <div className="flex gap-4 text-sm">
            <label className="inline-flex items-center gap-1">
              <input type="radio" name={`${id}-all`} disabled={readOnly} checked={clients.allowAllCustomers !== false} onChange={() => change(['customerRestrictions', 'allowAllCustomers'], true)} />
              Yes
            </label>
            <label className="inline-flex items-center gap-1">
              <input type="radio" name={`${id}-all`} disabled={readOnly} checked={clients.allowAllCustomers === false} onChange={() => change(['customerRestrictions', 'allowAllCustomers'], false)} />
              No — only the customers below
            </label>
          </div>
        </fieldset>
        {clients.allowAllCustomers === false && (
          <RecordsPicker
            kind="customers"
            label="Customers these agents may see"
            chosen={clients.customerIds ?? []}
            onChange={(next) => change(['customerRestrictions', 'customerIds'], next)}
            readOnly={readOnly}
            location={['customerRestrictions', 'customerIds']}
            error={error}
          />
        )}
      </Section>

      <Section title="Ticket group restrictions" help="Restricted agents see and log only tickets whose ticket types are in these groups.">
        <label className="inline-flex items-center gap-2 text-sm" data-field="ticketGroupRestrictions.restrictToGroups">
          <input type="checkbox" disabled={readOnly} checked={groups.restrictToGroups === true} onChange={(e) => change(['ticketGroupRestrictions', 'restrictToGroups'], e.target.checked)} />
          Restrict to ticket groups
        </label>
        {groups.restrictToGroups === true && (
          <Field name="ticketGroupIds" schema={schemaAt(type.schema, ['ticketGroupRestrictions', 'ticketGroupIds'])} value={groups.ticketGroupIds} location={['ticketGroupRestrictions', 'ticketGroupIds']} required={false} change={change} />
        )}
      </Section>

      <Section title="Customer group override">
        <p className="text-sm text-slate-700" data-testid="customer-group-override">
          A customer group override is set on each agent, not on a role: an agent with one sees only the agents of the same group. Set it with the agent (its
          <code className="mx-1">customerGroupOverrideId</code>, or <code className="mx-1">coManagedCustomerId</code> for the co-managed IT customer) in the agents API.
        </p>
      </Section>

      <Section title="Who holds this role" help="Agents of this instance holding the role, and agents linked by the id the identity system gives them (these travel along the pipeline).">
        <p className="text-sm text-slate-700">
          Changing who holds a role, or widening a role that agents hold, is access management: the server refuses it unless you hold <code>access:manage</code> and everything
          the role grants, and only an administrator acting personally changes who holds the Administrator role.
        </p>
        {instance.you.permissions.includes('access:manage') ? (
          <RecordsPicker kind="agents" label="Agents holding this role here" chosen={holders} onChange={(next) => change(['agentIds'], next)} readOnly={readOnly} location={['agentIds']} error={error} />
        ) : (
          <p className="text-sm" data-field="agentIds">
            {holders.length === 1 ? 'One agent holds' : `${holders.length} agents hold`} this role here; listing and choosing agents needs <code>access:manage</code>.
          </p>
        )}
        <TopField type={type} name="agentThirdPartyIds" value={value} change={change} />
        {refusedAccess && (
          <div role="alert" className="rounded border border-red-300 bg-red-50 p-3 text-sm text-red-900" data-testid="access-refused">
            <p>
              <strong>The server refused this as access management.</strong> {refusedAccess.problem.detail}
            </p>
            <p className="mt-1">Nothing was written. Ask an administrator, or narrow your change to what you may grant.</p>
          </div>
        )}
        <FieldMessage error={error} location={['agentIds']} />
      </Section>
    </div>
  );
}
