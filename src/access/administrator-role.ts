import { ADMINISTRATOR_ROLE_ID } from '../catalog/builtin/teams-and-agents.js';

export { ADMINISTRATOR_ROLE_ID };

export const ROLES_TYPE = 'roles';

export function administratorRoleBody(agentIds: string[]): Record<string, unknown> {
  return {
    name: 'Administrator',
    description: 'Built-in: every permission, including pushing configuration and managing access.',
    configAccess: 'modify',
    canPushConfig: true,
    ticketAccess: 'modify',
    customerAccess: 'modify',
    userAccess: 'modify',
    assetAccess: 'modify',
    ticketPermissions: {
      addTickets: true,
      editClosedTickets: true,
      viewUnassignedTickets: true,
      viewTicketsAssignedToOthers: true,
      changeTicketType: true,
      reassignTickets: true,
      assignOutsideOwnTeams: true,
      editTicketsNotAssigned: true,
      overrideMaxPriority: true,
      overrideReviewProcessing: true,
      treatAsSpam: true,
      exportTickets: true,
    },
    teamMemberships: [],
    customerRestrictions: { allowAllCustomers: true, customerIds: [] },
    agentIds,
    agentThirdPartyIds: [],
  };
}
