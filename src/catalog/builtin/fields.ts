import { z } from 'zod';
import { entityId, secret } from '../define.js';

/** A stable id for an item inside an entity (a workflow step, an SLA priority); kept across edits. */
export const itemId = () =>
  z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1–64 letters, digits, "_" or "-"')
    .describe('Stable id of this item within the entity; keep it when editing so that changes diff item by item.');

export const description = () => z.string().max(4000).optional();

export const colour = () =>
  z
    .string()
    .regex(/^#[0-9a-fA-F]{6}$/, 'must be a hex colour such as #1a2b3c')
    .describe('Hex colour, #rrggbb.');

export const sequence = () => z.number().int().min(0).max(100_000).default(0).describe('Sort order, lowest first.');


export const email = () => z.email().max(320);

export const entityIds = () => z.array(entityId()).max(1000).default([]);

/** A third-party relational id: the id an agent or user has in the identity system, linking it across instances. */
export const thirdPartyId = () => z.string().trim().min(1).max(200);

/** Third-party ids of agents or users (at most `max`), for linking by third-party id. */
export const thirdPartyIds = (max: number) => z.array(thirdPartyId()).max(max).default([]);

/**
 * The id of a record each instance keeps for itself (a customer, a user, an agent), as the instance writing the body
 * knows it. Every field holding one is declared in its type's `records`, which says how it travels.
 */
export const recordId = () => z.string().trim().min(1).max(100);

/** A list of record ids (see recordId). */
export const recordIds = () => z.array(recordId()).max(1000).default([]);

/** Adds an issue at `[...path, index, key]` for every item whose `key` repeats an earlier item's. */
export function refuseDuplicates<T>(
  ctx: z.RefinementCtx,
  items: readonly T[],
  path: (string | number)[],
  key: keyof T & string,
  what: string,
  normalise: (value: unknown) => unknown = (value) => value,
): void {
  const seen = new Set<unknown>();
  items.forEach((item, index) => {
    const value = item[key];
    if (value === undefined || value === null) return;
    const normalised = normalise(value);
    if (seen.has(normalised)) {
      ctx.addIssue({ code: 'custom', message: `duplicate ${what} "${String(value)}"`, path: [...path, index, key] });
    }
    seen.add(normalised);
  });
}

export function refuseBadRegex(ctx: z.RefinementCtx, pattern: string | undefined, path: (string | number)[]): void {
  if (pattern === undefined) return;
  try {
    new RegExp(pattern);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a valid regular expression', path });
  }
}

/** How an outgoing HTTP call authenticates (webhooks, runbooks, integrations). */
export const httpAuthentication = () =>
  z
    .strictObject({
      type: z.enum(['none', 'basic', 'bearer', 'api-key']),
      username: z.string().max(200).optional(),
      password: secret().optional(),
      token: secret().optional().describe('Bearer token or API key. Secret: write-only; responses show { "set": true }.'),
      headerName: z
        .string()
        .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name')
        .optional()
        .describe('Header that carries the API key (type api-key).'),
    })
    .superRefine((auth, ctx) => {
      // Secrets may be omitted on update (kept as stored), so only the non-secret companions are required.
      if (auth.type === 'basic' && !auth.username) {
        ctx.addIssue({ code: 'custom', message: 'basic authentication needs a username', path: ['username'] });
      }
      if (auth.type === 'api-key' && !auth.headerName) {
        ctx.addIssue({ code: 'custom', message: 'api-key authentication needs a headerName', path: ['headerName'] });
      }
    });

/** Sensitive paths of `httpAuthentication()` under `prefix`. */
export const httpAuthenticationSecrets = (prefix: string) => [`${prefix}.password`, `${prefix}.token`];

/** Outgoing request headers; credentials go in `authentication`, where they are encrypted. */
export const httpHeaders = () =>
  z
    .record(z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/, 'must be an HTTP header name'), z.string().max(4000))
    .superRefine((headers, ctx) => {
      for (const name of Object.keys(headers)) {
        if (/^(proxy-)?authorization$/i.test(name)) {
          ctx.addIssue({
            code: 'custom',
            message: 'credentials belong in authentication, where they are stored encrypted',
            path: [name],
          });
        }
      }
    })
    .default({})
    .describe('Extra request headers (not secret; use authentication for credentials).');
