import type { ComponentType } from 'react';
import type { CatalogType } from './config-queries';
import { setAt } from './json-schema';
import { FormScope, SchemaForm, type Change } from './schema-form';
import { DeliveryPanel } from './delivery-panel';
import { MailboxEditor } from './mailbox-editor';
import { NotificationEditor } from './notification-editor';
import type { EditorProps } from './editor-parts';
import { RoleEditor } from './role-editor';
import { SsoEditor } from './sso-editor';
import { TicketRuleEditor } from './ticket-rule-editor';
import { WorkflowEditor } from './workflow-editor';

/** The types whose generated form would be poor, and the editor used instead of it. */
const editors: Record<string, ComponentType<EditorProps & { entityId: string | null }>> = {
  workflows: WorkflowEditor,
  'ticket-rules': TicketRuleEditor,
  roles: RoleEditor,
  'sso-connections': SsoEditor,
  mailboxes: MailboxEditor,
  notifications: NotificationEditor,
};

interface ConfigFormProps {
  type: CatalogType;
  labels: Map<string, string>;
  instances: string[];
  value: Record<string, unknown>;
  onChange: (next: Record<string, unknown>) => void;
  error: unknown;
  readOnly: boolean;
  entityId: string | null;
  /** The form generated from the schema even where the type has an editor of its own. */
  allFields?: boolean;
}

/** Whether the type has an editor of its own beside its generated form. */
export function hasEditor(typeKey: string): boolean {
  return typeKey in editors;
}

/** The form of an entity: its type's hand-crafted editor where it has one, the form generated from its schema otherwise. */
export function ConfigForm({ type, labels, instances, value, onChange, error, readOnly, entityId, allFields = false }: ConfigFormProps) {
  const Editor = allFields ? undefined : editors[type.key];
  if (!Editor) return <SchemaForm type={type} labels={labels} instances={instances} value={value} onChange={(next) => onChange(next as Record<string, unknown>)} error={error} readOnly={readOnly} />;
  const change: Change = (location, next) => onChange(setAt(value, location, next) as Record<string, unknown>);
  return (
    <FormScope type={type} labels={labels} instances={instances} error={error} readOnly={readOnly}>
      <Editor type={type} value={value} change={change} error={error} readOnly={readOnly} instances={instances} entityId={entityId} />
    </FormScope>
  );
}

/** What an entity's page shows below its form: the delivery log of a webhook or notification. */
export function AfterForm({ type, entityId, canEdit }: { type: CatalogType; entityId: string; canEdit: boolean }) {
  if (type.key !== 'webhooks' && type.key !== 'notifications') return null;
  return <DeliveryPanel type={type.key} id={entityId} canEdit={canEdit} />;
}
