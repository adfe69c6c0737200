/** "defaultTeamId" → "Default team id": a field's name in words. */
export function words(key: string): string {
  const spaced = key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/[-_]/g, ' ').toLowerCase();
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/**
 * One of a type or list, in running text: "Mailboxes" → "mailbox", "Categories" → "category", "Statuses" → "status",
 * "Roles (agent)" → "role (agent)", "SLAs" → "SLA". Acronyms keep their capitals; a name with capitals inside a word
 * ("DevOps") is kept as it is.
 */
export function singular(label: string): string {
  const [, head = label, rest = ''] = /^(.*?)(\s*\(.*\))?$/.exec(label) ?? [];
  const parts = head.split(' ');
  const last = parts.pop() ?? '';
  const one = /[a-z][A-Z]/.test(last) ? last : /ies$/.test(last) ? last.replace(/ies$/, 'y') : /(ss|x|ch|sh|us)es$/.test(last) ? last.slice(0, -2) : last.replace(/([^s])s$/, '$1');
  return [...parts, one].map((word) => (/^[A-Z]{2,}/.test(word) || /[a-z][A-Z]/.test(word) ? word : word.toLowerCase())).join(' ') + rest;
}
