import { DomainError } from './errors.js';

/**
 * The base URL people and identity providers reach this instance at (`--public-url`, `SHIPLOG_PUBLIC_URL`): an
 * absolute http or https URL without credentials, query or fragment. It may have a path (an instance served under
 * `/shiplog/` by a reverse proxy); the answer always ends with `/`, so that relative paths resolve below it.
 */
export function parsePublicUrl(text: string): URL {
  const refuse = (message: string) =>
    new DomainError('VALIDATION_FAILED', `The public URL ${message}.`, { errors: [{ path: 'publicUrl', code: 'invalid-public-url', message: `It ${message}.` }] });
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('is not an absolute URL (such as https://desk.example.com)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('must be an http or https URL');
  if (url.username !== '' || url.password !== '') throw refuse('must not hold credentials');
  if (text.includes('?') || text.includes('#')) throw refuse('must have no query or fragment');
  if (!url.pathname.endsWith('/')) url.pathname = `${url.pathname}/`;
  return url;
}
