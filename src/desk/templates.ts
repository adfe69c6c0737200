import { isRecord } from '../shared/field-path.js';

/** The value at a dotted path of an event (`ticket.summary`). */
function valueAt(data: unknown, path: string): unknown {
  let value = data;
  for (const part of path.split('.')) value = isRecord(value) ? value[part] : undefined;
  return value;
}

/**
 * `template` with its `{{path}}` placeholders filled from the event (`{{ticket.id}}`, `{{event}}`), each value passed
 * through `encode` (URI-encoding in a URL, JSON-string escaping in a JSON body, HTML escaping in HTML). Missing
 * values are empty.
 */
export function fillTemplate(template: string, event: unknown, encode: (text: string) => string): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.]+)\s*\}\}/g, (_match, path: string) => {
    const value = valueAt(event, path);
    if (value === undefined || value === null) return '';
    return encode(typeof value === 'string' ? value : JSON.stringify(value));
  });
}
