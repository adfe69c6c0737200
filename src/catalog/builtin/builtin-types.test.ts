import { describe, it, expect } from 'vitest';
import type { z } from 'zod';
import { isTrackableType, isTrackedWrite } from '../entity-type.js';
import { collectPath } from '../../shared/field-path.js';
import { defaultSettings } from '../../shared/settings.js';
import { newId } from '../../shared/ids.js';
import { builtinTypes, createBuiltinCatalog } from './index.js';

/** The vendor guide's "Supported Configuration Entities", as written, with the types that hold them. */
const supported: Record<string, string[]> = {
  'Accounts Codes': ['account-codes'],
  Actions: ['actions'],
  'Active Directory': ['active-directory-connections'],
  'Agent Check-in Statuses': ['agent-statuses'],
  'Agreement Rules': ['agreement-rules'],
  'Agreement Types (and Subtypes)': ['agreement-types'],
  'AI Connection Credentials': ['ai-connections'],
  'Appointment Types': ['appointment-types'],
  'Approval Groups/CABS': ['approval-groups'],
  'Approval Process Rules': ['approval-process-rules'],
  'Approval Processes': ['approval-processes'],
  'Automated Tickets': ['automated-tickets'],
  'Assets that are marked as Services or Business Applications': ['assets'],
  'Asset Fields': ['asset-fields'],
  'Asset Groups': ['asset-groups'],
  'Asset Relationships': ['asset-relationships'],
  'Asset Types': ['asset-types'],
  'Break Types': ['break-types'],
  'Canned Text (all entities)': ['canned-texts'],
  'Canned Text Groups': ['canned-text-groups'],
  Categories: ['categories'],
  'Charge Types (and Rates)': ['charge-types'],
  'Chat Profiles': ['chat-profiles'],
  'Column Profiles': ['column-profiles'],
  'Country/Region Codes': ['country-codes'],
  'Custom Buttons': ['custom-buttons'],
  'Custom Fields (all entities)': ['custom-fields'],
  'Custom Tabs': ['custom-tabs'],
  'Custom Tables': ['custom-tables'],
  'Custom Translations for Field/Button names': ['custom-translations'],
  'Customer Relationships': ['customer-relationships'],
  'Customer Types': ['customer-types'],
  Dashboards: ['dashboards'],
  Departments: ['departments'],
  DevOps: ['devops-connections'],
  'Email Rules': ['email-rules'],
  'Email Templates': ['email-templates'],
  'Enabled modules': ['enabled-modules'],
  'Event Rules': ['event-rules'],
  'Expense Types': ['expense-types'],
  'FAQ Lists (and Groups)': ['faq-lists'],
  'Feedback messages (Surveys)': ['feedback-messages'],
  'Field Groups': ['field-groups'],
  'Filter Profiles': ['filter-profiles'],
  'Global Settings': ['global-settings'],
  'Holiday Types': ['holiday-types'],
  'Integrations (Connection details)': ['integrations'],
  'Item Groups': ['item-groups'],
  Lookups: ['lookups'],
  Mailboxes: ['mailboxes'],
  'Message Groups': ['message-groups'],
  Notifications: ['notifications'],
  'Notification Templates': ['notification-templates'],
  'Opportunity Types': ['opportunity-types'],
  'Organisations/Multi-tenancy': ['organisations'],
  'PDF Templates (v2.238+)': ['pdf-templates'],
  'Pipeline Stages': ['pipeline-stages'],
  Qualifications: ['qualifications'],
  Reports: ['reports'],
  'Roles (Agent)': ['roles'],
  'Remote Invite Variable text': ['remote-invite-texts'],
  'Runbooks/Custom Integrations': ['runbooks'],
  'Scheduled Tickets (excluding attachments)': ['scheduled-tickets'],
  'Self-Service Portal custom CSS': ['portal-stylesheets'],
  'Service Categories': ['service-categories'],
  Services: ['services'],
  'Site Contact Types': ['site-contact-types'],
  'Site Fields': ['site-fields'],
  'Shift Types': ['shift-types'],
  'SLAs (including priorities)': ['slas'],
  'SQL Imports (SCCM/Lansweeper)': ['sql-imports'],
  'Statuses (Agent, Asset, Contract, Purchase Orders, Tickets, Quotes and Sales Orders)': ['statuses'],
  'Styling for KBs': ['kb-stylesheets'],
  'Survey/feedback variable text': ['survey-variable-texts'],
  Surcharges: ['surcharges'],
  Teams: ['teams'],
  'Ticket Areas': ['ticket-areas'],
  'Ticket Link Types': ['ticket-link-types'],
  'Ticket Rules': ['ticket-rules'],
  'Ticket Template Groups': ['ticket-template-groups'],
  'Ticket Templates (including child templates)': ['ticket-templates'],
  'Ticket Types': ['ticket-types'],
  'User/Asset Relationships': ['user-asset-relationships'],
  'User Roles': ['user-roles'],
  'View Lists (excluding list groups)': ['view-lists'],
  'Virima Integration': ['virima-connections'],
  'Virtual Agents': ['virtual-agents'],
  Webhooks: ['webhooks'],
  Workdays: ['workdays'],
  'Workflows (including OLAs)': ['workflows'],
};

/** Supported lines that are not entities: access control is roles; instance management is Shiplog's instances. */
const supportedButNotTypes = ['Access Control (for the entities listed here)', 'UAT and Production Instance Management'];

/** Types Shiplog adds beyond the guide's lists. */
const additions = ['sso-connections', 'ticket-groups'];

/** The guide's "Unsupported Configuration Entities". */
const unsupported: Record<string, string> = {
  'AI Suggestions': 'ai-suggestions',
  'Asset Templates': 'asset-templates',
  'Billing Templates': 'billing-templates',
  'Call Scripts': 'call-scripts',
  Certificates: 'certificates',
  'Cost Centres': 'cost-centres',
  Currency: 'currencies',
  'Custom SQL Quantities': 'custom-sql-quantities',
  Forecasting: 'forecasts',
  'Language Packs': 'language-packs',
  'Product/Item Bundles': 'item-bundles',
  'Project Budgets': 'project-budgets',
  'Recurring Billing Profiles': 'recurring-billing-profiles',
  'Release Note Groups (Software Releases)': 'release-note-groups',
  'Release Types (Software Releases)': 'release-types',
  'Sales Mailboxes': 'sales-mailboxes',
  'Screen Layout Profiles': 'screen-layout-profiles',
  'Software Products': 'software-products',
  'Tax Rates': 'tax-rates',
  'Tax Rules': 'tax-rules',
};

const conditional: Record<string, string> = {
  assets: 'trackServices',
  reports: 'trackReportsAndDashboards',
  dashboards: 'trackReportsAndDashboards',
  mailboxes: 'trackMailboxes',
};

type Schema = z.core.$ZodType;

function defOf(schema: Schema): z.core.$ZodTypeDef {
  return schema._zod.def;
}

/** Strips optional, nullable, default and prefault wrappers. */
function unwrap(schema: Schema): Schema {
  let current = schema;
  for (;;) {
    const def = defOf(current);
    if (def.type === 'optional' || def.type === 'nullable' || def.type === 'default' || def.type === 'prefault') {
      current = (def as z.core.$ZodOptionalDef).innerType;
    } else {
      return current;
    }
  }
}

/** The object schemas a value may be: the object itself, or every object member of a union. */
function objectsOf(schema: Schema): z.core.$ZodObject[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type === 'object') return [inner as z.core.$ZodObject];
  if (def.type === 'union') return (def as z.core.$ZodUnionDef).options.flatMap(objectsOf);
  return [];
}

/** Leaf schemas named by a catalog field path (`a[].b`), through unions; empty when the path does not exist. */
function resolvePath(root: Schema, path: string): Schema[] {
  let current: Schema[] = [root];
  for (const part of path.split('.')) {
    const each = part.endsWith('[]');
    const key = each ? part.slice(0, -2) : part;
    const next: Schema[] = [];
    for (const object of current.flatMap(objectsOf)) {
      const child = object._zod.def.shape[key];
      if (!child) continue;
      if (!each) {
        next.push(child);
        continue;
      }
      const array = unwrap(child);
      if (defOf(array).type === 'array') next.push((defOf(array) as z.core.$ZodArrayDef).element);
    }
    current = next;
  }
  return current.map(unwrap);
}

/** Every object schema nested anywhere in `schema`. */
function allObjects(schema: Schema, found: z.core.$ZodObject[] = []): z.core.$ZodObject[] {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (def.type === 'object') {
    found.push(inner as z.core.$ZodObject);
    for (const child of Object.values((def as z.core.$ZodObjectDef).shape)) allObjects(child, found);
  } else if (def.type === 'array') {
    allObjects((def as z.core.$ZodArrayDef).element, found);
  } else if (def.type === 'union') {
    for (const option of (def as z.core.$ZodUnionDef).options) allObjects(option, found);
  } else if (def.type === 'record') {
    allObjects((def as z.core.$ZodRecordDef).valueType, found);
  }
  return found;
}

const isString = (schema: Schema) => defOf(schema).type === 'string';

describe('builtin catalog', () => {
  const catalog = createBuiltinCatalog();

  it('builds, with kebab-case keys and every type in the catalog', () => {
    expect(catalog.list()).toHaveLength(builtinTypes.length);
    for (const def of builtinTypes) expect(def.key).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  });

  it('holds every supported entity of the guide as a trackable type', () => {
    for (const [label, keys] of Object.entries(supported)) {
      for (const key of keys) {
        const def = catalog.find(key);
        expect(def, `${label} → ${key}`).toBeDefined();
        expect(isTrackableType(def!), `${label} → ${key}`).toBe(true);
      }
    }
  });

  it('tracks the conditional types only under their setting', () => {
    for (const [key, setting] of Object.entries(conditional)) {
      expect(catalog.get(key).tracking).toMatchObject({ kind: 'tracked-when', setting });
    }
    const unconditional = Object.values(supported)
      .flat()
      .concat(additions)
      .filter((key) => !(key in conditional));
    for (const key of unconditional) expect(catalog.get(key).tracking, key).toEqual({ kind: 'tracked' });
  });

  it('holds every unsupported entity of the guide as a local type', () => {
    for (const [label, key] of Object.entries(unsupported)) {
      expect(catalog.find(key)?.tracking, `${label} → ${key}`).toEqual({ kind: 'local' });
    }
  });

  it('has no type that neither list explains', () => {
    const explained = new Set([...Object.values(supported).flat(), ...Object.values(unsupported), ...additions]);
    expect(catalog.list().map((def) => def.key).filter((key) => !explained.has(key))).toEqual([]);
    // The guide's supported list has 92 lines.
    expect(Object.keys(supported).length + supportedButNotTypes.length).toBe(92);
  });

  it('declares references at existing id fields, targeting existing types', () => {
    for (const def of builtinTypes) {
      for (const reference of def.references) {
        const where = `${def.key}.${reference.path}`;
        expect(catalog.find(reference.target), where).toBeDefined();
        const leaves = resolvePath(def.schema, reference.path);
        expect(leaves.length, where).toBeGreaterThan(0);
        for (const leaf of leaves) expect(isString(leaf), where).toBe(true);
      }
    }
  });

  it('declares sensitive and instance-scoped fields that exist', () => {
    for (const def of builtinTypes) {
      for (const path of def.sensitive) {
        const leaves = resolvePath(def.schema, path);
        expect(leaves.length, `${def.key}.${path}`).toBeGreaterThan(0);
        for (const leaf of leaves) expect(isString(leaf), `${def.key}.${path}`).toBe(true);
      }
      for (const path of def.instanceScoped) {
        const leaves = resolvePath(def.schema, path);
        expect(leaves.length, `${def.key}.${path}`).toBeGreaterThan(0);
        for (const leaf of leaves) expect(defOf(leaf).type, `${def.key}.${path}`).toBe('array');
      }
    }
  });

  it('resolves field paths through arrays and unions, and only existing ones', () => {
    expect(resolvePath(catalog.get('roles').schema, 'teamMemberships[].teamId')).toHaveLength(1);
    expect(resolvePath(catalog.get('ticket-rules').schema, 'outcomes[].statusId')).toHaveLength(1);
    expect(resolvePath(catalog.get('roles').schema, 'teamMemberships.teamId')).toEqual([]);
    expect(resolvePath(catalog.get('roles').schema, 'teamMemberships[].nope')).toEqual([]);
  });

  it('names an existing field as the display name', () => {
    for (const def of builtinTypes) expect(resolvePath(def.schema, def.nameField), def.key).not.toHaveLength(0);
  });

  it('rejects unknown fields at every level', () => {
    for (const def of builtinTypes) {
      for (const object of allObjects(def.schema)) {
        const catchall = object._zod.def.catchall;
        expect(catchall && defOf(catchall).type, def.key).toBe('never');
      }
    }
    const result = catalog.get('teams').schema.safeParse({ name: 'Support', colour: 'red' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['colour'] });
  });

  it('serves a JSON Schema for every type', () => {
    for (const def of builtinTypes) {
      const schema = catalog.jsonSchema(def.key);
      expect(schema, def.key).toMatchObject({ type: 'object', additionalProperties: false });
    }
  });

  it('parses a generic type with defaults', () => {
    expect(catalog.get('departments').schema.parse({ name: 'Service desk' })).toEqual({ name: 'Service desk', properties: {} });
  });
});

describe('workflows', () => {
  const schema = createBuiltinCatalog().get('workflows').schema;
  const statusId = newId();
  const teamId = newId();
  interface StepInput {
    id: string;
    name: string;
    statusId?: string;
    actions: Record<string, unknown>[];
  }
  const valid: { name: string; startStepId: string; steps: StepInput[] } = {
    name: 'Incident',
    startStepId: 'new',
    steps: [
      {
        id: 'new',
        name: 'New',
        statusId,
        actions: [
          { id: 'assign', name: 'Assign', nextStepId: 'in-progress' },
          { id: 'escalate', name: 'Escalate', nextStepId: 'in-progress', restrictAccess: true, restrictToTeamIds: [teamId] },
        ],
      },
      { id: 'in-progress', name: 'In progress', actions: [{ id: 'close', name: 'Close', setStatusId: statusId }] },
    ],
  };

  it('parses a valid workflow, filling defaults', () => {
    const parsed = schema.parse(valid);
    expect(parsed.olas).toEqual([]);
    expect(collectPath(parsed, 'steps[].actions[].restrictToTeamIds[]').map((hit) => hit.stableName)).toEqual([
      'steps[new].actions[escalate].restrictToTeamIds[0]',
    ]);
  });

  it('refuses a nextStepId that names no step, at its path', () => {
    const broken = structuredClone(valid);
    broken.steps[0]!.actions[1]!.nextStepId = 'missing';
    const result = schema.safeParse(broken);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['steps', 0, 'actions', 1, 'nextStepId']]);
  });

  it('refuses an unknown start step and repeated ids', () => {
    const broken = structuredClone(valid);
    broken.startStepId = 'nowhere';
    broken.steps[1]!.id = 'new';
    broken.steps[0]!.actions[1]!.id = 'assign';
    const paths = schema.safeParse(broken).error?.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([['startStepId'], ['steps', 1, 'id'], ['steps', 0, 'actions', 1, 'id']]),
    );
  });

  it('refuses unknown fields inside actions', () => {
    const broken = structuredClone(valid);
    broken.steps[0]!.actions[0]!.colour = 'red';
    expect(schema.safeParse(broken).success).toBe(false);
  });
});

describe('mailboxes', () => {
  const def = createBuiltinCatalog().get('mailboxes');
  const mailbox = (addresses: [string, string][]) => ({
    name: 'Support',
    address: 'support@example.com',
    type: 'imap',
    credentials: addresses.map(([instance, mailboxAddress], i) => ({ id: `c${i}`, instance, mailboxAddress, password: 'pw' })),
  });

  it('accepts one external mailbox per instance', () => {
    const body = mailbox([
      ['dev', 'dev-support@example.com'],
      ['prod', 'support@example.com'],
    ]);
    expect(def.schema.safeParse(body).success).toBe(true);
  });

  it('refuses two instances opening the same mailbox', () => {
    const result = def.schema.safeParse(mailbox([['dev', 'support@example.com'], ['prod', 'Support@Example.com']]));
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['credentials', 1, 'mailboxAddress']]);
  });

  it('refuses two credentials for one instance', () => {
    const result = def.schema.safeParse(mailbox([['prod', 'a@example.com'], ['prod', 'b@example.com']]));
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['credentials', 1, 'instance']]);
  });

  it('is tracked only when the mailboxes setting is on', () => {
    const body = def.schema.parse(mailbox([]));
    expect(isTrackedWrite(def, null, body, { settings: defaultSettings })).toBe(false);
    expect(isTrackedWrite(def, null, body, { settings: { ...defaultSettings, trackMailboxes: true } })).toBe(true);
  });
});

describe('assets', () => {
  const def = createBuiltinCatalog().get('assets');
  const settings = { ...defaultSettings, trackServices: true };
  const asset = (serviceClass: string) => def.schema.parse({ name: 'CRM', assetTypeId: newId(), serviceClass });

  it('tracks services and business applications only', () => {
    expect(isTrackedWrite(def, null, asset('service'), { settings })).toBe(true);
    expect(isTrackedWrite(def, null, asset('business-application'), { settings })).toBe(true);
    expect(isTrackedWrite(def, null, asset('none'), { settings })).toBe(false);
    expect(isTrackedWrite(def, asset('service'), asset('none'), { settings })).toBe(true);
    expect(isTrackedWrite(def, null, asset('service'), { settings: defaultSettings })).toBe(false);
  });
});

describe('other schemas', () => {
  const catalog = createBuiltinCatalog();

  it('finds ticket rule references through union members', () => {
    const teamId = newId();
    const ticketTypeId = newId();
    const rule = catalog.get('ticket-rules').schema.parse({
      name: 'Co-managed customer',
      criteria: [
        { field: 'customer', operator: 'includes', customerIds: ['cust-1'] },
        { field: 'ticket-type', operator: 'is', ticketTypeIds: [ticketTypeId] },
      ],
      outcomes: [
        { field: 'team', teamId },
        { field: 'priority', level: 2 },
      ],
    });
    expect(collectPath(rule, 'outcomes[].teamId').map((hit) => hit.value)).toEqual([teamId]);
    expect(collectPath(rule, 'criteria[].ticketTypeIds[]').map((hit) => hit.value)).toEqual([ticketTypeId]);
    expect(rule).toMatchObject({ use: 'new-tickets', stopWhenMatched: false, enabled: true });
  });

  it('gives roles least privilege by default', () => {
    const role = catalog.get('roles').schema.parse({ name: 'Co-managed agents' });
    expect(role).toMatchObject({ configAccess: 'none', canPushConfig: false, ticketAccess: 'none', teamMemberships: [] });
    expect(Object.values(role.ticketPermissions as Record<string, boolean>).every((allowed) => allowed === false)).toBe(true);
  });

  it('keeps webhook credentials out of plain headers', () => {
    const result = catalog.get('webhooks').schema.safeParse({
      name: 'Audit',
      url: 'https://hooks.example.com/x',
      events: ['ticket.created'],
      headers: { Authorization: 'Bearer abc' },
    });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['headers', 'Authorization']]);
  });

  it('requires the approver of each approval step', () => {
    const result = catalog.get('approval-processes').schema.safeParse({
      name: 'Change approval',
      steps: [{ id: 'cab', name: 'CAB', approverKind: 'cab' }],
    });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['steps', 0, 'cabId']]);
  });

  it('refuses an SLA with repeated priority levels', () => {
    const priority = { name: 'P1', level: 1, responseMinutes: 15, resolutionMinutes: 240 };
    const result = catalog.get('slas').schema.safeParse({
      name: 'Standard',
      priorities: [
        { ...priority, id: 'p1' },
        { ...priority, id: 'p2' },
      ],
    });
    expect(result.error?.issues.map((issue) => issue.path)).toEqual([['priorities', 1, 'level']]);
  });
});
