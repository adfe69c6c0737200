import { customerOfBody } from '../access/customer-scope.js';
import type { EntityTypeDefinition } from '../catalog/entity-type.js';
import { DomainError, type FieldProblem } from '../shared/errors.js';
import { stringsAtPath } from '../shared/field-path.js';
import type { Stores } from '../store/ports.js';
import type { WriteGuard } from './change-writer.js';

/**
 * What is wrong with the people a customer's record names (an asset's users and owners): each user must be a user of
 * its customer, each person an agent or a user of that customer — by record id, and by third-party id. A record that
 * names no customer is no customer's, and names whom it likes. The problems never say whether a user belongs to
 * another customer or to none.
 */
export async function customerRecordProblems(stores: Stores, def: EntityTypeDefinition, body: Record<string, unknown>): Promise<FieldProblem[]> {
  const fields = def.customerRecord;
  const customerId = customerOfBody(def, body);
  if (!fields || customerId === null) return [];
  const at = (paths: string[]) => paths.flatMap((path) => stringsAtPath(body, path));
  const users = at(fields.users);
  const people = at(fields.people);
  const problems: FieldProblem[] = [];
  const ofCustomer = async (userId: string) => (await stores.desk.findUser(userId))?.customerId === customerId;
  for (const hit of users) {
    if (!(await ofCustomer(hit.value))) problems.push({ path: hit.location, code: 'reference-not-found', message: `Customer ${customerId} has no user with id ${hit.value}.` });
  }
  for (const hit of people) {
    if ((await stores.agents.find(hit.value)) || (await ofCustomer(hit.value))) continue;
    problems.push({ path: hit.location, code: 'reference-not-found', message: `No agent, and no user of customer ${customerId}, has id ${hit.value}.` });
  }
  const byThirdParty = (target: 'user' | 'agent-or-user') =>
    at(def.records.filter((r) => r.by === 'third-party-id' && r.target === target).map((r) => r.path));
  const userLinks = byThirdParty('user');
  const personLinks = byThirdParty('agent-or-user');
  if (userLinks.length + personLinks.length === 0) return problems;
  // A third-party id links whoever holds it here: a user of another customer is refused.
  const otherCustomers = async (thirdPartyId: string) => {
    const user = await stores.desk.findUserByThirdPartyId(thirdPartyId);
    return user !== undefined && user.customerId !== customerId;
  };
  for (const hit of userLinks) {
    if (await otherCustomers(hit.value)) problems.push({ path: hit.location, code: 'reference-not-found', message: `Customer ${customerId} has no user with third-party id ${hit.value}.` });
  }
  const linked = personLinks.length > 0 ? await agentThirdPartyIds(stores) : new Set<string>();
  for (const hit of personLinks) {
    if (linked.has(hit.value) || !(await otherCustomers(hit.value))) continue;
    problems.push({ path: hit.location, code: 'reference-not-found', message: `No agent, and no user of customer ${customerId}, has third-party id ${hit.value}.` });
  }
  return problems;
}

async function agentThirdPartyIds(stores: Stores): Promise<Set<string>> {
  return new Set((await stores.agents.list({ limit: 1_000_000 })).flatMap((a) => (a.thirdPartyId ? [a.thirdPartyId] : [])));
}

/** Local writes of a customer's record (an asset, through /v1/config or /v1/assets, or a rollback) name only its customer's people. */
export const customerRecordGuard: WriteGuard = {
  appliesTo: (def) => def.customerRecord !== undefined,
  async check(stores, def, _entityId, _before, after) {
    if (!after || !def.customerRecord) return;
    const problems = await customerRecordProblems(stores, def, after);
    if (problems.length > 0) throw new DomainError('REFERENCE_NOT_FOUND', `The ${def.label} names people who are not its customer's.`, { errors: problems });
  },
};
