import type { EntityTypeDefinition } from '../entity-type.js';
import { genericType } from '../define.js';

const area = 'portal';

export const portalTypes: EntityTypeDefinition[] = [
  genericType('portal-stylesheets', 'Self-service portal custom CSS', area),
  genericType('kb-stylesheets', 'Styling for knowledge base', area),
  genericType('faq-lists', 'FAQ lists (and groups)', area),
  genericType('chat-profiles', 'Chat profiles', area),
  genericType('virtual-agents', 'Virtual agents', area),
  genericType('feedback-messages', 'Feedback messages (surveys)', area),
  genericType('survey-variable-texts', 'Survey/feedback variable text', area),
  genericType('remote-invite-texts', 'Remote invite variable text', area),
];
