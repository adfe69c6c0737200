import type { RestorePlan } from '../sync/restore.js';
import type { ChangeBrief, PeerStatus, SyncPlan } from '../sync/sync-service.js';
import type { SyncProblem } from '../sync/transfer.js';

const NAME_WIDTH = 40;

/** `text` cut to `width` characters, an ellipsis marking the cut. */
export function clip(text: string, width = NAME_WIDTH): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/** An ISO 8601 time without its milliseconds, as the tables show times. */
export const shortTime = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** Columns padded to their widest cell, two spaces apart. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

function changeTable(changes: ChangeBrief[]): string {
  return table(
    ['CHANGE', 'AT', 'TYPE', 'NAME', 'OP', 'CHANGE SET'],
    changes.map((c) => [c.id, shortTime(c.at), c.type, clip(c.entityName), c.op, c.changeSet ?? '']),
  );
}

function snapshot(body: Record<string, unknown> | null): string {
  return body === null ? '(none)' : clip(JSON.stringify(body), 100);
}

/** Every problem, one paragraph each: what, where, and for a conflict both versions. */
export function renderProblems(problems: SyncProblem[]): string {
  const lines = [`Problems (${problems.length}):`];
  for (const p of problems) {
    const where = p.entity ? ` ${p.entity.type} "${p.entity.name}" (${p.entity.id})` : '';
    lines.push(`  ✗ ${p.kind}${where}${p.changeId ? `, change ${p.changeId}` : ''}`);
    lines.push(`      ${p.message}`);
    if (p.missing && p.missing.length > 0) lines.push(`      missing: ${p.missing.join(', ')}`);
    for (const e of p.errors ?? []) lines.push(`      ${e.path}: ${e.message} (${e.code})`);
    if (p.receiver) lines.push(`      here:     head ${p.receiver.head ?? '(none)'}  ${snapshot(p.receiver.body)}`);
    if (p.incoming) lines.push(`      incoming: after ${p.incoming.parent ?? '(creation)'}  ${snapshot(p.incoming.after)}`);
  }
  return lines.join('\n');
}

/** A push, pull or import plan: the changes in order, what was added and why, what was left out, counts and problems. */
export function renderPlan(plan: SyncPlan): string {
  const verb = { push: 'Push', pull: 'Pull', import: 'Import' }[plan.operation];
  const lines = [`${verb} ${plan.from.name} → ${plan.to.name}${plan.dryRun ? ' — dry run, nothing written' : ''}${plan.replayed ? ' — replayed (same idempotency key)' : ''}`];
  if (plan.operation !== 'import') {
    lines.push(`Mode: ${plan.mode === 'exact' ? 'exact (reconciled change sets)' : 'since the last sync ("don\'t check diffs")'} · cut-off: ${plan.cutoff ?? 'none'}`);
  }
  // While any problem stands nothing is applied: a change that would apply is held, never shown as applied.
  const refused = plan.problems.length > 0;
  if (plan.changes.length === 0) lines.push('', 'No changes to send.');
  else {
    const added = new Map(plan.added.map((a) => [a.id, a]));
    lines.push(
      '',
      table(
        ['#', 'ACTION', 'TYPE', 'NAME', 'OP', 'CHANGE SET', 'CHANGE', 'NOTE'],
        plan.changes.map((c, i) => {
          const why = added.get(c.id);
          return [String(i + 1), refused && c.action === 'apply' ? 'held' : c.action, c.type, clip(c.entityName), c.op, c.changeSet ?? '', c.id, why ? `added: ${why.reason} of ${why.of}` : ''];
        }),
      ),
    );
    if (refused && plan.changes.some((c) => c.action === 'apply')) lines.push('held: would apply once every problem below is resolved; nothing is applied while one stands.');
  }
  const c = plan.counts;
  lines.push('', `Entities: ${c.entities} · ${refused ? 'held' : 'to apply'}: ${c.toApply} · already present: ${c.alreadyPresent} · refused: ${c.refused} · problems: ${c.problems}`);
  if (plan.added.length > 0) lines.push(`Added for dependencies: ${plural(plan.added.length, 'change')} the receiver lacks (see NOTE).`);
  if (plan.leftOut.length > 0) lines.push(`Left out (allowMissing): ${plan.leftOut.join(', ')}`);
  if (plan.skippedDependencies.length > 0) lines.push(`Applied without (allowMissing): ${plan.skippedDependencies.join(', ')}`);
  if (plan.heldBackByCutoff > 0) lines.push(`Held back by the cut-off: ${plural(plan.heldBackByCutoff, 'change')}.`);
  if (plan.problems.length > 0) lines.push('', renderProblems(plan.problems));
  lines.push('');
  if (plan.problems.length > 0) lines.push(plan.dryRun ? 'The real run would be refused: nothing would be written.' : 'Refused: nothing was written.');
  else if (plan.dryRun) {
    const held = plan.approvalsRequired ? ` once ${plural(plan.approvalsRequired, 'approval')} there allow it (${plan.to.name} asks for approval: the run makes a promotion request)` : '';
    lines.push(`The real run would apply ${plural(c.toApply, 'change')} to ${plan.to.name}${held}.`);
  } else if (plan.request) {
    lines.push(
      `Nothing applied yet: ${plan.to.name} asks for ${plural(plan.request.approvalsRequired, 'approval')}. Promotion request ${plan.request.id} holds ${plural(c.toApply, 'change')} (shiplog requests show ${plan.request.id}, on ${plan.to.name}).`,
    );
  } else lines.push(`Applied ${plural(c.toApply, 'change')} to ${plan.to.name}${c.alreadyPresent > 0 ? ` (${c.alreadyPresent} already there)` : ''}.`);
  return lines.join('\n');
}

function syncCell(status: PeerStatus): string {
  if (status.inSync) return 'yes';
  return `no — ${status.reasons.join(' ')}`;
}

const relationText: Record<PeerStatus['relation'], string> = {
  source: 'source of this instance',
  downstream: 'takes this instance as its source',
  none: 'no pipeline edge with this instance',
};

/**
 * Behind and ahead from the linked instance's side, as the demo's banner says them ("staging is 1 change behind dev"):
 * the API's `ahead` (this instance has, the peer lacks) is how far the peer is behind.
 */
export function peerSide(s: Pick<PeerStatus, 'behind' | 'ahead'>): { behind: number | null; ahead: number | null } {
  return { behind: s.ahead, ahead: s.behind };
}

const count = (n: number | null) => (n === null ? '?' : String(n));

/** The linked instances, one row each; BEHIND and AHEAD are the instance's own (how far it is behind this one, and ahead). */
export function renderInstances(items: PeerStatus[]): string {
  if (items.length === 0) return 'No linked instances.';
  return table(
    ['NAME', 'KIND', 'VERSION', 'RELATION', 'URL', 'BEHIND', 'AHEAD', 'IN SYNC'],
    items.map((s) => [s.name, s.kind ?? '?', s.version ?? '?', s.relation, s.url, count(peerSide(s).behind), count(peerSide(s).ahead), syncCell(s)]),
  );
}

/** One linked instance: identity, relation, counts, reasons, and the changes on either side when listed. */
export function renderStatus(s: PeerStatus): string {
  const lines = [
    `${s.name} — ${s.reachable ? `${s.kind}, version ${s.version}${s.versionMatches ? '' : ' (differs from this instance)'}` : 'unreachable'}`,
    `  URL:       ${s.url}`,
    `  Relation:  ${relationText[s.relation]}${s.source ? `; its source is ${s.source.name}` : ''}`,
    `  Mode:      ${s.mode === 'exact' ? `exact${s.reconciliation ? ` (reconciled in ${plural(s.reconciliation.rounds, 'round')})` : ''}` : 'since the last sync ("don\'t check diffs")'}`,
    `  Behind:    ${count(peerSide(s).behind)} (${s.name} lacks them, this instance has them)`,
    `  Ahead:     ${count(peerSide(s).ahead)} (${s.name} has them, this instance lacks them)`,
    `  Last sync: ${s.lastSyncAt ?? 'never'}`,
    `  In sync:   ${s.inSync ? 'yes' : 'no'}`,
  ];
  for (const reason of s.reasons) lines.push(`    - ${reason}`);
  if (s.aheadChanges && s.aheadChanges.length > 0) lines.push('', `${s.name} is behind by (this instance has them):`, changeTable(s.aheadChanges));
  if (s.behindChanges && s.behindChanges.length > 0) lines.push('', `${s.name} is ahead by (this instance lacks them):`, changeTable(s.behindChanges));
  return lines.join('\n');
}

/** What a restore replaces and loses, instance by instance. */
export function renderRestorePlan(plan: RestorePlan): string {
  const lines = [`Restore from ${plan.from.name} (scope: ${plan.scope})${plan.dryRun ? ' — dry run, nothing written' : ''}`, `Plan fingerprint: ${plan.fingerprint}`];
  for (const part of plan.instances) {
    lines.push(
      '',
      `${part.name}${part.restored ? ' — restored' : ''}`,
      `  Copied from ${plan.from.name}: ${plural(part.copied.changes, 'change')}, ${plural(part.copied.entities, 'entity', 'entities')}`,
      `  Replaced here: ${plural(part.replaced.changes, 'change')}, ${plural(part.replaced.entities, 'entity', 'entities')}`,
      `  Desk data (tickets and the like) cleared: ${part.deskDataCleared ? 'yes' : 'no'}`,
      `  Customers and users: ${plural(part.records.copied.customers, 'customer')} and ${plural(part.records.copied.users, 'user')} from ${plan.from.name} replace ${plural(part.records.replaced.customers, 'customer')} and ${plural(part.records.replaced.users, 'user')} here`,
      `  Agents ${plan.from.name}'s configuration names, found here: ${part.records.agentsResolved}`,
      `  Lost (changes ${plan.from.name} lacks): ${part.lost.count}`,
    );
    if (part.lost.changes.length > 0) lines.push(changeTable(part.lost.changes).replace(/^/gm, '  '));
    for (const [title, references] of [
      ['Unresolved (the restore is refused while any remain)', part.records.unresolved],
      ['Holders dropped (not among production’s users)', part.records.dropped],
    ] as const) {
      if (references.length === 0) continue;
      lines.push(`  ${title}:`);
      for (const r of references) lines.push(`    - ${r.in.type} "${r.in.name}" at ${r.path}: ${r.record.kind}${r.record.name === null ? '' : ` "${r.record.name}"`} ${r.record.thirdPartyId === null ? `(id ${r.record.id})` : `(third-party id ${r.record.thirdPartyId})`}`);
    }
  }
  const names = plan.instances.map((i) => i.name).join(' and ');
  lines.push('', plan.restored ? `Restored: ${names} now match ${plan.from.name}.` : `Not restored. To restore exactly this plan, confirm it: --confirm --fingerprint ${plan.fingerprint}`);
  return lines.join('\n');
}
