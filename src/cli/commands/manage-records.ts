import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { callApi, print, query, resolveTarget, withTarget, type ApiTarget, type HttpMethod, type TargetValues } from '../api-client.js';
import type { PeerStatus } from '../../sync/sync-service.js';
import { createProgress, progressWanted } from '../progress.js';
import { clip, renderInstances, shortTime, table } from '../render.js';
import { UsageError } from '../usage-error.js';

type Item = Record<string, unknown>;
/** A verb's own options by name: a flag, or an option taking a value (repeatable when `multiple`). */
export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: boolean }>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export interface Column {
  header: string;
  cell: (item: Item) => string;
}

/** One verb of a record command: its positional arguments, extra options, and what it does. */
export interface Verb {
  name: string;
  args: string[];
  /** Usage after the arguments, e.g. `[--filter K=V]…`. */
  flags?: string;
  /** Takes a JSON body after its arguments (FILE, - or --data). */
  takesBody?: boolean;
  /** Takes any number of further arguments. */
  variadic?: boolean;
  summary: string;
  options?: OptionSpecs;
  run(call: Call): Promise<number>;
}

interface Call {
  target: ApiTarget;
  args: string[];
  values: Values;
  json: boolean;
}

/** A command over one kind of record: `shiplog customers list`, `shiplog tickets show ID`. */
export interface RecordCommand {
  name: string;
  summary: string;
  verbs: Verb[];
  /** The verb run when none is given. */
  defaultVerb?: string;
}

const text = (value: unknown): string => (value === null || value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
export const field = (header: string, key: string): Column => ({ header, cell: (item) => text(item[key]) });
export const time = (header: string, key: string): Column => ({ header, cell: (item) => shortTime(text(item[key])) });
/** A column of text cut to fit a table (48 characters unless `width` says). */
export const clipped = (header: string, key: string, width = 48): Column => ({ header, cell: (item) => clip(text(item[key]), width) });
const ticketColumns: Column[] = [
  field('#', 'number'),
  field('ID', 'id'),
  clipped('SUMMARY', 'summary'),
  { header: 'STATE', cell: (t) => (t.closed ? 'closed' : 'open') },
  field('TEAM', 'teamId'),
  field('AGENT', 'agentId'),
];

const listOptions = {
  filter: { type: 'string', multiple: true },
  limit: { type: 'string' },
  cursor: { type: 'string' },
  all: { type: 'boolean', default: false },
} as const;
const listFlags = '[--filter K=V]… [--limit N] [--cursor C] [--all]';
const bodyOptions = { data: { type: 'string' } } as const;
const bodyFlags = '[FILE | - | --data JSON]';
const ifMatchOption = { 'if-match': { type: 'string' } } as const;
const changeSetOption = { 'change-set': { type: 'string' } } as const;

/** `K=V` pairs as query parameters. */
function filters(values: Values): Record<string, string> {
  const pairs: Record<string, string> = {};
  for (const pair of (values.filter as string[] | undefined) ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--filter takes NAME=VALUE, not "${pair}"`);
    pairs[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return pairs;
}

function limitOf(values: Values): string | undefined {
  const limit = values.limit as string | undefined;
  if (limit !== undefined && !/^[1-9]\d*$/.test(limit)) throw new UsageError(`--limit must be a positive whole number, not "${limit}"`);
  return limit;
}

/** The JSON body: `--data`, else the file named by the last argument (`-` for standard input). */
async function bodyOf(values: Values, file: string | undefined): Promise<unknown> {
  const inline = values.data as string | undefined;
  if (inline !== undefined && file !== undefined) throw new UsageError('give the body as FILE or --data, not both');
  let source: string;
  let where: string;
  if (inline !== undefined) [source, where] = [inline, '--data'];
  else if (file === '-') [source, where] = [await readStdin(), 'standard input'];
  else if (file !== undefined) {
    where = file;
    try {
      source = await readFile(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  } else throw new UsageError('give the JSON body as FILE, - (standard input) or --data');
  try {
    return JSON.parse(source) as unknown;
  } catch (error) {
    throw new UsageError(`${where} is not JSON: ${(error as Error).message}`);
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Usage of the header options a verb takes (`--if-match`, `--change-set`). */
const headerFlags = (options: OptionSpecs): string[] => [
  ...('if-match' in options ? ['[--if-match VERSION]'] : []),
  ...('change-set' in options ? ['[--change-set L]'] : []),
];

const headersOf = (values: Values): Record<string, string> => ({
  ...(values['if-match'] ? { 'if-match': values['if-match'] as string } : {}),
  ...(values['change-set'] ? { 'x-change-set': values['change-set'] as string } : {}),
});

interface VerifyAnswer {
  ok: boolean;
  checked: number;
  headSeq: number;
  failureCount: number;
  failures: { seq: number | null; changeId: string | null; reason: string; message: string; entity?: { type: string; name: string } }[];
  entities: { checked: number; untracked: number };
}

function renderVerify(answer: VerifyAnswer): string {
  const summary = `${answer.checked} change(s) checked up to ${answer.headSeq}; ${answer.entities.checked} entities against their head change (${answer.entities.untracked} written while tracking was off).`;
  if (answer.ok) return `The history verifies. ${summary}`;
  const rows = answer.failures.map((f) => `  ${f.seq === null ? '-' : String(f.seq)}  ${f.reason}  ${f.message}`);
  const more = answer.failureCount > answer.failures.length ? [`  … and ${answer.failureCount - answer.failures.length} more`] : [];
  return [`The history does not verify: ${answer.failureCount} failure(s). ${summary}`, ...rows, ...more].join('\n');
}

export const printJson = (answer: unknown): number => {
  print(JSON.stringify(answer, null, 2));
  return 0;
};

/** Lists a page (or, with --all, every page) as a table or the API's JSON. */
export function listVerb(
  path: (args: string[]) => string,
  columns: Column[],
  options: { name?: string; args?: string[]; filterNames?: string; summary: string; paged?: boolean },
): Verb {
  const paged = options.paged ?? true;
  return {
    name: options.name ?? 'list',
    args: options.args ?? [],
    ...(paged ? { flags: listFlags, options: listOptions } : {}),
    summary: `${options.summary}${options.filterNames ? ` Filters: ${options.filterNames}.` : ''}`,
    async run({ target, args, values, json }) {
      const items: Item[] = [];
      let cursor = values.cursor as string | undefined;
      let next: string | null = null;
      const limit = limitOf(values);
      // Following every page can be long: the count of what has come so far shows it moving.
      const progress = createProgress({ enabled: values.all === true && progressWanted(json) });
      do {
        const page = await callApi<{ items: Item[]; nextCursor?: string | null }>(target, 'GET', `${path(args)}${query({ ...filters(values), limit, cursor })}`);
        items.push(...page.items);
        next = page.nextCursor ?? null;
        cursor = next ?? undefined;
        progress.update('Fetched', items.length, null, 'records');
      } while (values.all && next);
      progress.finish();
      if (json) print(JSON.stringify({ items, nextCursor: next }, null, 2));
      else {
        print(items.length === 0 ? 'None.' : table(columns.map((c) => c.header), items.map((item) => columns.map((c) => c.cell(item)))));
        if (next) process.stderr.write(`More: --cursor ${next} (or --all)\n`);
      }
      return 0;
    },
  };
}

const idPath = (base: (args: string[]) => string, args: string[]) => `${base(args)}/${encodeURIComponent(args.at(-1)!)}`;

export function showVerb(base: (args: string[]) => string, args: string[], summary: string): Verb {
  return { name: 'show', args, summary, run: async ({ target, args: given }) => printJson(await callApi(target, 'GET', idPath(base, given))) };
}

function createVerb(base: (args: string[]) => string, args: string[], summary: string, extra: OptionSpecs = {}, name = 'create'): Verb {
  return {
    name,
    args,
    takesBody: true,
    flags: [bodyFlags, ...headerFlags(extra)].join(' '),
    summary,
    options: { ...bodyOptions, ...extra },
    async run({ target, args: given, values }) {
      const body = await bodyOf(values, given[args.length]);
      return printJson(await callApi(target, 'POST', base(given), { json: body, headers: headersOf(values) }));
    },
  };
}

function writeVerb(name: string, method: 'PUT' | 'PATCH', base: (args: string[]) => string, args: string[], summary: string, extra: OptionSpecs = {}): Verb {
  return {
    name,
    args,
    takesBody: true,
    flags: [bodyFlags, ...headerFlags(extra)].join(' '),
    summary,
    options: { ...bodyOptions, ...extra },
    async run({ target, args: given, values }) {
      const body = await bodyOf(values, given[args.length]);
      return printJson(await callApi(target, method, idPath(base, given.slice(0, args.length)), { json: body, headers: headersOf(values) }));
    },
  };
}

function deleteVerb(base: (args: string[]) => string, args: string[], summary: string, extra: OptionSpecs = {}, name = 'delete'): Verb {
  return {
    name,
    args,
    flags: headerFlags(extra).join(' '),
    summary,
    options: extra,
    run: async ({ target, args: given, values }) => printJson(await callApi(target, 'DELETE', idPath(base, given), { headers: headersOf(values) })),
  };
}

/** A verb that calls one route and prints its JSON answer. */
function callVerb(name: string, args: string[], summary: string, method: HttpMethod, path: (args: string[]) => string, options: { flags?: string; options?: OptionSpecs; query?: (values: Values) => Record<string, string | boolean | undefined> } = {}): Verb {
  return {
    name,
    args,
    ...(options.flags ? { flags: options.flags } : {}),
    summary,
    ...(options.options ? { options: options.options } : {}),
    run: async ({ target, args: given, values }) => printJson(await callApi(target, method, `${path(given)}${query(options.query?.(values) ?? {})}`)),
  };
}

export const at = (path: string) => () => path;
const under = (path: string) => (args: string[]) => `${path}/${encodeURIComponent(args[0]!)}`;
const configPath = (args: string[]) => `/v1/config/${encodeURIComponent(args[0]!)}`;

const entityColumns = [field('ID', 'id'), clipped('NAME', 'name'), field('VERSION', 'version'), field('UPDATED', 'updatedAt')];

/** The commands over the API's records, beside the sync commands. */
export const recordCommands: RecordCommand[] = [
  {
    name: 'instances',
    summary: 'linked instances, behind/ahead and in sync',
    defaultVerb: 'list',
    verbs: [
      {
        name: 'list',
        args: [],
        summary: 'Lists the linked instances: kind, version, relation, changes behind and ahead, in sync and why not.',
        async run({ target, json }) {
          const answer = await callApi<{ items: PeerStatus[] }>(target, 'GET', '/v1/instances');
          print(json ? JSON.stringify(answer, null, 2) : renderInstances(answer.items));
          return 0;
        },
      },
      createVerb(at('/v1/instances'), [], 'Links an instance: { "name", "url", "clientId", "clientSecret", "source"? }, an application of that instance.', {}, 'link'),
      callVerb('show', ['NAME'], 'Shows a link (never its secret).', 'GET', under('/v1/instances')),
      writeVerb('update', 'PATCH', at('/v1/instances'), ['NAME'], 'Changes a link’s url, credentials or source flag.'),
      deleteVerb(at('/v1/instances'), ['NAME'], 'Removes a link.', {}, 'unlink'),
      callVerb('diff', ['NAME'], 'Which tracked entities differ from the linked instance, field by field (secrets masked).', 'GET', (args) => `/v1/instances/${encodeURIComponent(args[0]!)}/diff`),
    ],
  },
  {
    name: 'config',
    summary: 'tracked configuration entities of a type (see `shiplog catalog`)',
    verbs: [
      listVerb(configPath, entityColumns, { args: ['TYPE'], filterNames: 'q (text in the name)', summary: 'Lists the entities of TYPE.' }),
      showVerb(configPath, ['TYPE', 'ID'], 'Shows one entity (secrets as { "set": true }) with its version.'),
      createVerb(configPath, ['TYPE'], 'Creates an entity from a JSON body; the change is recorded (in change set L).', changeSetOption),
      writeVerb('replace', 'PUT', configPath, ['TYPE', 'ID'], 'Replaces an entity’s body; --if-match refuses it if the entity changed since VERSION.', { ...ifMatchOption, ...changeSetOption }),
      deleteVerb(configPath, ['TYPE', 'ID'], 'Deletes an entity.', { ...ifMatchOption, ...changeSetOption }),
    ],
  },
  {
    name: 'catalog',
    summary: 'the configuration types: tracking rule, references, secrets, JSON Schema',
    defaultVerb: 'list',
    verbs: [
      {
        name: 'list',
        args: [],
        summary: 'Lists every configuration type and how it is tracked.',
        async run({ target, json }) {
          const answer = await callApi<{ types: Item[] }>(target, 'GET', '/v1/catalog');
          if (json) return printJson(answer);
          const tracking = (t: Item) => {
            const rule = t.tracking as { kind: string; setting?: string };
            return rule.kind === 'tracked-when' ? `when ${rule.setting ?? ''}` : rule.kind;
          };
          print(table(['TYPE', 'LABEL', 'AREA', 'TRACKED'], answer.types.map((t) => [text(t.key), text(t.label), text(t.area), tracking(t)])));
          return 0;
        },
      },
      callVerb('show', ['TYPE'], 'Shows one type, with the JSON Schema of its body.', 'GET', under('/v1/catalog')),
    ],
  },
  {
    name: 'changes',
    summary: 'the change list, its verification and rollback',
    verbs: [
      listVerb(
        at('/v1/changes'),
        [
          field('CHANGE', 'id'),
          time('AT', 'at'),
          field('TYPE', 'type'),
          clipped('NAME', 'entityName', 40),
          field('OP', 'op'),
          { header: 'ACTOR', cell: (c) => text((c.actor as Item | null)?.name) },
          field('CHANGE SET', 'changeSet'),
        ],
        { filterNames: 'type, entityId, op, actor, receivedBy, origin, changeSet, q, from, to', summary: 'Lists changes, newest first.' },
      ),
      showVerb(at('/v1/changes'), ['ID'], 'Shows a change: before, after, diff, secrets changed, requires, request, who brought it here, rollback script.'),
      {
        name: 'verify',
        args: [],
        summary: 'Checks every keyed digest and link, and every tracked entity against its head change; lists every failure (up to 100) and counts them. Exits 1 when anything fails.',
        async run({ target, json }) {
          const answer = await callApi<VerifyAnswer>(target, 'GET', '/v1/changes/verify');
          print(json ? JSON.stringify(answer, null, 2) : renderVerify(answer));
          return answer.ok ? 0 : 1;
        },
      },
      callVerb('rollback', ['ID'], 'Reverts change ID and every later one in one transaction (--dry-run: the same work, discarded).', 'POST', (args) => `/v1/changes/${encodeURIComponent(args[0]!)}/rollback-before`, {
        flags: '[--dry-run]',
        options: { 'dry-run': { type: 'boolean', default: false } },
        query: (values) => ({ dryRun: values['dry-run'] ? true : undefined }),
      }),
    ],
  },
  {
    name: 'instance',
    summary: 'this instance: id, name, kind, version',
    defaultVerb: 'show',
    verbs: [callVerb('show', [], 'Shows this instance.', 'GET', at('/v1/instance'))],
  },
  {
    name: 'settings',
    summary: 'this instance’s settings (never synced)',
    defaultVerb: 'show',
    verbs: [
      callVerb('show', [], 'Shows the settings.', 'GET', at('/v1/settings')),
      {
        name: 'set',
        args: [],
        variadic: true,
        flags: 'NAME=VALUE…',
        summary: 'Changes settings: `configTracking=false`, `disableConfigEditing=true` (values are JSON; other text is a string).',
        async run({ target, args }) {
          if (args.length === 0) throw new UsageError('give at least one NAME=VALUE');
          const patch: Item = {};
          for (const pair of args) {
            const eq = pair.indexOf('=');
            if (eq <= 0) throw new UsageError(`settings set takes NAME=VALUE, not "${pair}"`);
            const raw = pair.slice(eq + 1);
            let value: unknown = raw;
            try {
              value = JSON.parse(raw);
            } catch {
              // Plain text stays a string.
            }
            patch[pair.slice(0, eq)] = value;
          }
          return printJson(await callApi(target, 'PATCH', '/v1/settings', { json: patch }));
        },
      },
    ],
  },
  {
    name: 'agents',
    summary: 'agents, their roles and client restrictions',
    verbs: [
      listVerb(
        at('/v1/agents'),
        [
          field('ID', 'id'),
          field('NAME', 'name'),
          field('EMAIL', 'email'),
          { header: 'ROLES', cell: (a) => ((a.roles as { name: string }[] | undefined) ?? []).map((r) => r.name).join(', ') },
          { header: 'STATE', cell: (a) => [a.disabled ? 'disabled' : 'enabled', a.apiOnly ? 'api-only' : '', a.isAdministrator ? 'administrator' : ''].filter(Boolean).join(', ') },
        ],
        { filterNames: 'q (name or email)', summary: 'Lists agents.' },
      ),
      callVerb('me', [], 'Shows the agent the token acts for, with what it may do.', 'GET', at('/v1/agents/me')),
      showVerb(at('/v1/agents'), ['ID'], 'Shows an agent.'),
      createVerb(at('/v1/agents'), [], 'Creates an agent.'),
      writeVerb('update', 'PATCH', at('/v1/agents'), ['ID'], 'Changes the fields given.'),
      deleteVerb(at('/v1/agents'), ['ID'], 'Deletes an agent.'),
    ],
  },
  {
    name: 'applications',
    summary: 'API applications (OAuth 2 client credentials)',
    verbs: [
      listVerb(
        at('/v1/applications'),
        [
          field('ID', 'id'),
          field('NAME', 'name'),
          field('CLIENT ID', 'clientId'),
          { header: 'ENABLED', cell: (a) => (a.enabled ? 'yes' : 'no') },
          { header: 'PERMISSIONS', cell: (a) => ((a.permissions as string[] | undefined) ?? []).join(' ') },
        ],
        { filterNames: 'q (name)', summary: 'Lists applications.' },
      ),
      showVerb(at('/v1/applications'), ['ID'], 'Shows an application (never its secret).'),
      createVerb(at('/v1/applications'), [], 'Creates an application; prints its client secret, the only time it is shown.'),
      writeVerb('update', 'PATCH', at('/v1/applications'), ['ID'], 'Changes the fields given.'),
      deleteVerb(at('/v1/applications'), ['ID'], 'Deletes an application; its tokens stop working.'),
      callVerb('rotate-secret', ['ID'], 'Issues a new client secret (printed once); the old one and its tokens stop working.', 'POST', (args) => `/v1/applications/${encodeURIComponent(args[0]!)}/rotate-secret`),
    ],
  },
  {
    name: 'audit',
    summary: 'the audit log: sign-ins, refusals, lock lifts, secret rotations',
    defaultVerb: 'list',
    verbs: [
      listVerb(
        at('/v1/audit'),
        [
          time('AT', 'at'),
          field('KIND', 'kind'),
          field('OUTCOME', 'outcome'),
          { header: 'ACTOR', cell: (e) => text((e.actor as Item | null)?.name) },
          clipped('SUBJECT', 'subject'),
        ],
        { filterNames: 'kind, outcome, actorId, from, to', summary: 'Lists audit events, newest first.' },
      ),
    ],
  },
  {
    name: 'customers',
    summary: 'customers (desk records, never synced)',
    verbs: [
      listVerb(at('/v1/customers'), [field('ID', 'id'), field('NAME', 'name'), field('THIRD-PARTY ID', 'thirdPartyId')], {
        filterNames: 'q (name)',
        summary: 'Lists the customers the token’s agent may see.',
      }),
      showVerb(at('/v1/customers'), ['ID'], 'Shows a customer.'),
      createVerb(at('/v1/customers'), [], 'Creates a customer.'),
      writeVerb('update', 'PATCH', at('/v1/customers'), ['ID'], 'Changes the fields given.'),
      deleteVerb(at('/v1/customers'), ['ID'], 'Deletes a customer.'),
    ],
  },
  {
    name: 'users',
    summary: 'users of customers (desk records)',
    verbs: [
      listVerb(at('/v1/users'), [field('ID', 'id'), field('NAME', 'name'), field('EMAIL', 'email'), field('CUSTOMER', 'customerId')], {
        filterNames: 'q (name or email), customerId',
        summary: 'Lists the users the token’s agent may see.',
      }),
      showVerb(at('/v1/users'), ['ID'], 'Shows a user.'),
      createVerb(at('/v1/users'), [], 'Creates a user.'),
      writeVerb('update', 'PATCH', at('/v1/users'), ['ID'], 'Changes the fields given.'),
      deleteVerb(at('/v1/users'), ['ID'], 'Deletes a user.'),
    ],
  },
  {
    name: 'ticket-lists',
    summary: 'saved ticket lists: named filters, the agent’s own or shared',
    defaultVerb: 'list',
    verbs: [
      listVerb(at('/v1/ticket-lists'), [field('ID', 'id'), field('NAME', 'name'), { header: 'SHARED', cell: (l) => (l.shared ? 'yes' : 'no') }, field('OWNER', 'agentId')], {
        summary: 'Lists the agent’s own lists and the shared ones.',
      }),
      showVerb(at('/v1/ticket-lists'), ['ID'], 'Shows a list and its filters.'),
      createVerb(at('/v1/ticket-lists'), [], 'Saves a list ({ "name", "shared"?, "filters": { customerId, teamId, agentId, statusId, closed, q } }).'),
      writeVerb('update', 'PATCH', at('/v1/ticket-lists'), ['ID'], 'Changes the fields given (the owner, or an administrator).'),
      deleteVerb(at('/v1/ticket-lists'), ['ID'], 'Deletes a list (the owner, or an administrator).'),
      listVerb((args) => `/v1/ticket-lists/${encodeURIComponent(args[0]!)}/tickets`, ticketColumns, { name: 'tickets', args: ['ID'], summary: 'Runs a list: its tickets the agent may see.' }),
    ],
  },
  {
    name: 'view-lists',
    summary: 'view lists of the configuration (edited with `shiplog config … view-lists`), run as the agent',
    defaultVerb: 'list',
    verbs: [
      listVerb(at('/v1/view-lists'), [field('ID', 'id'), field('NAME', 'name'), { header: 'FOR TEAMS', cell: (v) => ((v.visibleToTeamIds as string[]).length === 0 ? 'every agent' : (v.visibleToTeamIds as string[]).join(', ')) }], {
        summary: 'Lists the view lists the agent sees.',
        paged: false,
      }),
      listVerb((args) => `/v1/view-lists/${encodeURIComponent(args[0]!)}/tickets`, ticketColumns, { name: 'tickets', args: ['ID'], summary: 'Runs a view list: its tickets the agent may see.' }),
    ],
  },
  {
    name: 'tickets',
    summary: 'tickets, their notes and workflow actions',
    verbs: [
      listVerb(at('/v1/tickets'), ticketColumns, {
        filterNames: 'q (summary), customerId, teamId, agentId, statusId, closed (co-managed agents: q only)',
        summary: 'Lists the tickets the token’s agent may see.',
      }),
      showVerb(at('/v1/tickets'), ['ID'], 'Shows a ticket with the workflow actions the caller may use.'),
      createVerb(at('/v1/tickets'), [], 'Logs a ticket; ticket rules apply.'),
      writeVerb('update', 'PATCH', at('/v1/tickets'), ['ID'], 'Changes the fields given; rules for updated tickets apply.'),
      listVerb(
        (args) => `/v1/tickets/${encodeURIComponent(args[0]!)}/actions`,
        [
          time('AT', 'at'),
          field('KIND', 'kind'),
          field('NAME', 'name'),
          { header: 'ACTOR', cell: (a) => text((a.actor as Item | null)?.name) },
          clipped('NOTE', 'note'),
        ],
        { name: 'actions', args: ['ID'], summary: 'Lists a ticket’s history, oldest first: notes, workflow actions, updates.', paged: false },
      ),
      createVerb((args) => `/v1/tickets/${encodeURIComponent(args[0]!)}/actions`, ['ID'], 'Adds a note ({ "kind": "note", "note": … }) or performs a workflow action ({ "kind": "workflow-action", "actionId": …, "note"? }).', {}, 'act'),
      {
        name: 'export',
        args: [],
        flags: '[--filter K=V]… > tickets.csv',
        summary: 'Writes the tickets the caller may export as CSV. Filters as for list.',
        options: { filter: listOptions.filter },
        async run({ target, values }) {
          process.stdout.write(await callApi<string>(target, 'GET', `/v1/tickets/export${query(filters(values))}`, { raw: true, headers: { accept: 'text/csv' } }));
          return 0;
        },
      },
    ],
  },
  {
    name: 'assets',
    summary: 'assets (services and business applications are tracked when that setting is on)',
    verbs: [
      listVerb(at('/v1/assets'), entityColumns, { filterNames: 'q, customerId', summary: 'Lists the assets the token’s agent may see.' }),
      showVerb(at('/v1/assets'), ['ID'], 'Shows an asset.'),
      createVerb(at('/v1/assets'), [], 'Creates an asset.'),
      writeVerb('replace', 'PUT', at('/v1/assets'), ['ID'], 'Replaces an asset’s body.', ifMatchOption),
      deleteVerb(at('/v1/assets'), ['ID'], 'Deletes an asset.', ifMatchOption),
    ],
  },
  {
    name: 'deliveries',
    summary: 'the delivery log of webhooks, runbooks and notifications',
    defaultVerb: 'list',
    verbs: [
      listVerb(
        at('/v1/webhooks/deliveries'),
        [
          field('ID', 'id'),
          field('KIND', 'kind'),
          clipped('NAME', 'webhookName', 32),
          field('EVENT', 'event'),
          field('STATUS', 'status'),
          { header: 'ATTEMPTS', cell: (d) => `${text(d.attempts)}/${text(d.maxAttempts)}` },
          clipped('LAST ERROR', 'lastError'),
        ],
        { filterNames: 'webhookId, status', summary: 'Lists deliveries, newest first.' },
      ),
      callVerb('retry', ['ID'], 'Queues a failed delivery again.', 'POST', (args) => `/v1/webhooks/deliveries/${encodeURIComponent(args[0]!)}/retry`),
    ],
  },
  {
    name: 'mailboxes',
    summary: 'which mailboxes this instance reads, with which credentials, and the mail it read',
    defaultVerb: 'processing',
    verbs: [
      callVerb('processing', [], 'Shows the mailboxes this instance reads, and how their last check went (never a secret).', 'GET', at('/v1/mailboxes/processing')),
      callVerb('check', [], 'Reads every mailbox this instance processes now.', 'POST', at('/v1/mailboxes/check')),
      listVerb(
        at('/v1/mailboxes/messages'),
        [
          time('RECEIVED', 'receivedAt'),
          clipped('MAILBOX', 'mailboxName', 20),
          clipped('FROM', 'fromAddress', 32),
          clipped('SUBJECT', 'subject', 40),
          field('OUTCOME', 'outcome'),
          { header: 'TICKET OR REASON', cell: (m) => clip(text(m.outcome === 'ignored' ? m.reason : m.ticketId), 48) },
        ],
        { name: 'messages', filterNames: 'mailboxId, outcome', summary: 'Lists the mail read, newest first: the ticket it logged, the note it added, or why it was ignored.' },
      ),
    ],
  },
];

/** What each verb option takes and does, for its help. */
const optionHelp: Record<string, [value: string | null, description: string]> = {
  filter: ['K=V', "a filter of the route's list (repeat for more)"],
  limit: ['N', 'at most N records a page (at most 200)'],
  cursor: ['C', 'the page the cursor points to'],
  all: [null, 'follow every page'],
  data: ['JSON', 'the JSON body, given inline'],
  'if-match': ['VERSION', 'refuse the write if the entity changed since VERSION'],
  'change-set': ['L', 'record the change in change set L'],
  'dry-run': [null, 'do the same work, then discard it'],
  comment: ['TEXT', 'a comment shown with the verdict'],
  reason: ['TEXT', 'why, shown on the request'],
  'bypass-reason': ['TEXT', 'apply outside the deploy windows and freezes (emergency bypass, audited)'],
  remove: ['CHANGE', 'leave this change out of the request (repeat for more)'],
  description: ['TEXT', 'a new description of the request'],
};

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A record command as commander parses it: a subcommand per verb, the default verb run when none is named. */
export function recordProgram(command: RecordCommand): Command {
  const parent = new Command(command.name).summary(command.summary).description(command.summary).usage('<verb> [options]');
  for (const verb of command.verbs) {
    const sub = new Command(verb.name).description(verb.summary).usage([...verb.args, verb.flags ?? ''].filter(Boolean).join(' '));
    for (const arg of verb.args) sub.argument(`<${arg}>`);
    if (verb.takesBody) sub.argument('[FILE]');
    if (verb.variadic) sub.argument('<NAME=VALUE...>');
    for (const [name, spec] of Object.entries(verb.options ?? {})) {
      const [value, description] = optionHelp[name] ?? [spec.type === 'string' ? 'VALUE' : null, ''];
      const flags = `--${name}${spec.type === 'string' ? ` <${value ?? 'VALUE'}>` : ''}`;
      if (spec.multiple) sub.option(flags, description, collect);
      else sub.option(flags, description);
    }
    withTarget(sub).action(async (...given: unknown[]) => {
      const called = given.at(-1) as Command;
      const opts = called.opts<TargetValues & Values>();
      const values: Values = Object.fromEntries(called.options.map((o) => [o.long!.slice(2), opts[o.attributeName()]]));
      const args = (called.processedArgs as (string | string[] | undefined)[]).flat().filter((a): a is string => a !== undefined);
      process.exitCode = await verb.run({ target: resolveTarget(opts), args, values, json: opts.json === true });
    });
    parent.addCommand(sub, { isDefault: verb.name === command.defaultVerb });
  }
  return parent;
}
