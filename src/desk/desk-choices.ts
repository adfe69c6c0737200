import type { Principal } from '../access/agent-access.js';
import { canSeeAgent } from '../access/agent-service.js';
import type { Transactor } from '../store/ports.js';
import { deskCaller, holds, memberOf, ticketTypeAllowed } from './desk-caller.js';

interface Named {
  id: string;
  name: string;
}

/**
 * The names and choices a desk screen shows, as far as the caller may see: the records a ticket or an asset names by id
 * (type, status, team, agent, asset type), and what the caller may do on the desk. Configuration screens read the same
 * names through `config:read`; an agent without it — a co-managed agent — still logs tickets of the types it may log.
 */
export interface DeskChoices {
  you: {
    /** Uses co-managed functionality: searches tickets by text only, and saves no lists. */
    coManaged: boolean;
    /** May log tickets (`tickets:edit` and the "add tickets" ticket permission). */
    mayLogTickets: boolean;
    /** May filter ticket searches and save ticket lists. */
    mayFilter: boolean;
  };
  /** Ticket types whose tickets the caller sees (its ticket groups), and whether it may log one. */
  ticketTypes: (Named & { mayLog: boolean })[];
  /** Ticket statuses. */
  statuses: (Named & { closed: boolean })[];
  /** The caller's teams; every team for a caller who may read configuration. */
  teams: (Named & { member: boolean })[];
  /** Enabled agents the caller sees (its customer group, when it has one). */
  agents: Named[];
  /** Asset types, for a caller who may read assets. */
  assetTypes: Named[];
}

/** Agents listed at most: a desk of more picks by search elsewhere. */
const AGENTS_MAX = 1000;

const byName = <T extends Named>(items: T[]): T[] => items.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));

export function createDeskChoices(deps: { db: Transactor }) {
  return {
    async choices(principal: Principal): Promise<DeskChoices> {
      return deps.db.read(async (stores) => {
        const caller = await deskCaller(stores, principal);
        const tickets = caller.permissions.has('tickets:read');
        const everyTeam = caller.isAdministrator || caller.permissions.has('config:read');
        const mayLogTickets = caller.permissions.has('tickets:edit') && holds(caller, 'addTickets');
        const types = tickets ? await stores.entities.listAll('ticket-types') : [];
        const statuses = tickets ? await stores.entities.listAll('statuses') : [];
        const teams = tickets ? await stores.entities.listAll('teams') : [];
        const agents = tickets ? await stores.agents.list({ limit: AGENTS_MAX }) : [];
        const assetTypes = caller.permissions.has('assets:read') ? await stores.entities.listAll('asset-types') : [];
        return {
          you: { coManaged: caller.coManaged, mayLogTickets, mayFilter: !caller.coManaged },
          ticketTypes: byName(
            types
              .filter((t) => ticketTypeAllowed(caller, t.id))
              .map((t) => ({ id: t.id, name: t.name, mayLog: mayLogTickets && !(caller.coManaged && t.body.allowedForCoManaged === false) })),
          ),
          statuses: byName(statuses.filter((s) => s.body.kind === 'ticket').map((s) => ({ id: s.id, name: s.name, closed: s.body.isClosed === true }))),
          teams: byName(teams.filter((t) => everyTeam || memberOf(caller, t.id)).map((t) => ({ id: t.id, name: t.name, member: memberOf(caller, t.id) }))),
          agents: byName(agents.filter((a) => !a.disabled && canSeeAgent(principal.agent, a)).map((a) => ({ id: a.id, name: a.name }))),
          assetTypes: byName(assetTypes.map((t) => ({ id: t.id, name: t.name }))),
        };
      });
    },
  };
}

export type DeskChoiceService = ReturnType<typeof createDeskChoices>;
