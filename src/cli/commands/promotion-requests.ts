import { callApi } from '../api-client.js';
import { UsageError } from '../usage-error.js';
import { at, clipped, field, listVerb, printJson, showVerb, time, type OptionSpecs, type Values, type Verb } from './manage-records.js';
import type { RecordCommand } from './manage-records.js';

const requestPath = (args: string[], action: string) => `/v1/promotion-requests/${encodeURIComponent(args[0]!)}/${action}`;

/** A verb that posts to one action of a request, its body made from the verb's options. */
function actionVerb(name: string, summary: string, options: OptionSpecs, flags: string, body: (values: Values, args: string[]) => Record<string, unknown>, extraArgs: string[] = []): Verb {
  return {
    name,
    args: ['ID', ...extraArgs],
    flags,
    summary,
    options,
    run: async ({ target, args, values }) => printJson(await callApi(target, 'POST', requestPath(args, name), { json: body(values, args) })),
  };
}

const text = (values: Values, name: string): string | undefined => values[name] as string | undefined;

/** `shiplog requests …`: the promotion requests of the instance called (see docs/promotion-requests.md). */
export const requestsCommand: RecordCommand = {
  name: 'requests',
  summary: 'promotion requests: pushes, pulls and imports held for approval',
  defaultVerb: 'list',
  verbs: [
    listVerb(
      at('/v1/promotion-requests'),
      [
        field('ID', 'id'),
        field('STATUS', 'status'),
        { header: 'FROM', cell: (r) => (r.from as { name: string }).name },
        { header: 'APPROVALS', cell: (r) => `${String(r.approvals)}/${String(r.approvalsRequired)}` },
        field('CHANGES', 'changes'),
        clipped('DESCRIPTION', 'description', 40),
        time('UPDATED', 'updatedAt'),
      ],
      { filterNames: 'status (comma-separated)', summary: 'Lists promotion requests, newest first.' },
    ),
    showVerb(at('/v1/promotion-requests'), ['ID'], 'Shows a request: its plan, the heads it was planned against, its verdicts and its timeline.'),
    actionVerb('approve', 'Approves the current plan of request ID.', { comment: { type: 'string' } }, '[--comment TEXT]', (v) => ({ comment: text(v, 'comment') ?? '' })),
    actionVerb('reject', 'Rejects request ID.', { comment: { type: 'string' } }, '[--comment TEXT]', (v) => ({ comment: text(v, 'comment') ?? '' })),
    actionVerb('apply', 'Applies approved request ID now, exactly as approved, or nothing (stale if its target moved).', { 'bypass-reason': { type: 'string' } }, '[--bypass-reason TEXT]', (v) =>
      text(v, 'bypass-reason') ? { bypassReason: text(v, 'bypass-reason') } : {},
    ),
    actionVerb(
      'schedule',
      'Has the instance apply approved request ID at TIME (ISO 8601), or never (`none`).',
      {},
      '',
      (_v, args) => {
        const when = args[1]!;
        if (when !== 'none' && Number.isNaN(Date.parse(when))) throw new UsageError(`schedule takes an ISO 8601 time or none, not "${when}"`);
        return { at: when === 'none' ? null : new Date(when).toISOString() };
      },
      ['TIME'],
    ),
    actionVerb('cancel', 'Cancels request ID.', { reason: { type: 'string' } }, '[--reason TEXT]', (v) => ({ reason: text(v, 'reason') ?? '' })),
    actionVerb('replan', 'Plans request ID again against the instance as it is now (every earlier verdict is revoked).', { remove: { type: 'string', multiple: true }, description: { type: 'string' } }, '[--remove CHANGE]… [--description TEXT]', (v) => ({
      ...(v.remove ? { removeChangeIds: v.remove as string[] } : {}),
      ...(text(v, 'description') !== undefined ? { description: text(v, 'description') } : {}),
    })),
  ],
};
