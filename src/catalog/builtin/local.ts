import type { EntityTypeDefinition } from '../entity-type.js';
import { localType } from '../define.js';

const area = 'local';

/** The guide's unsupported entities: kept on each instance, never tracked or synced. */
export const localTypes: EntityTypeDefinition[] = [
  localType('ai-suggestions', 'AI suggestions', area),
  localType('asset-templates', 'Asset templates', area),
  localType('billing-templates', 'Billing templates', area),
  localType('call-scripts', 'Call scripts', area),
  localType('certificates', 'Certificates', area),
  localType('cost-centres', 'Cost centres', area),
  localType('currencies', 'Currencies', area),
  localType('custom-sql-quantities', 'Custom SQL quantities', area),
  localType('forecasts', 'Forecasting', area),
  localType('language-packs', 'Language packs', area),
  localType('item-bundles', 'Product/item bundles', area),
  localType('project-budgets', 'Project budgets', area),
  localType('recurring-billing-profiles', 'Recurring billing profiles', area),
  localType('release-note-groups', 'Release note groups', area),
  localType('release-types', 'Release types', area),
  localType('sales-mailboxes', 'Sales mailboxes', area),
  localType('screen-layout-profiles', 'Screen layout profiles', area),
  localType('software-products', 'Software products', area),
  localType('tax-rates', 'Tax rates', area),
  localType('tax-rules', 'Tax rules', area),
];
