import type { Migration } from 'kysely';
import * as foundation from './0001-foundation.js';
import * as access from './0002-access.js';
import * as sync from './0003-sync.js';
import * as originOffset from './0004-origin-offset.js';
import * as summaryNodes from './0005-summary-nodes.js';
import * as desk from './0006-desk.js';
import * as sso from './0007-sso.js';
import * as inboundMail from './0008-inbound-mail.js';
import * as ticketLists from './0009-ticket-lists.js';
import * as customerThirdPartyId from './0011-customer-third-party-id.js';
import * as recordReferences from './0011b-record-references.js';
import * as recordLinks from './0011c-record-links.js';
import * as keyedHistory from './0012-keyed-history.js';
import * as anonymousBounds from './0013-anonymous-bounds.js';
import * as idAliases from './0015-id-aliases.js';
import * as rowVersions from './0016-row-versions.js';
import * as promotionRequests from './0017-promotion-requests.js';
import * as promotionPlans from './0018-promotion-plans.js';

/** The one migration list for both engines. Never edit a migration that has landed; add a new one. */
export const migrations: Record<string, Migration> = {
  '0001-foundation': foundation,
  '0002-access': access,
  '0003-sync': sync,
  '0004-origin-offset': originOffset,
  '0005-summary-nodes': summaryNodes,
  '0006-desk': desk,
  '0007-sso': sso,
  '0008-inbound-mail': inboundMail,
  '0009-ticket-lists': ticketLists,
  '0011-customer-third-party-id': customerThirdPartyId,
  '0011b-record-references': recordReferences,
  '0011c-record-links': recordLinks,
  '0012-keyed-history': keyedHistory,
  '0013-anonymous-bounds': anonymousBounds,
  '0015-id-aliases': idAliases,
  '0016-row-versions': rowVersions,
  '0017-promotion-requests': promotionRequests,
  '0018-promotion-plans': promotionPlans,
};
