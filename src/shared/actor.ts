/** Who made a write: an agent, an API application acting for an agent, a sync from a peer, or the system. */
export interface Actor {
  kind: 'agent' | 'application' | 'sync' | 'system';
  id: string;
  name: string;
}

/** Where a write came from, recorded with its change. */
export interface RequestInfo {
  method: string;
  path: string;
  requestId: string;
  remoteAddress: string | null;
  userAgent: string | null;
  clientApplication: string | null;
}

/**
 * What the caller of a write may grant, as this instance computed it for the request: plain strings, their meaning is
 * access's. It travels with every write, so the rules on who may grant what hold on every path that writes.
 */
export interface Authority {
  /** Effective permissions (`resource:action`): an application's are its own intersected with its agent's. */
  permissions: ReadonlySet<string>;
  /** The ticket permissions of the caller's agent. */
  ticketPermissions: ReadonlySet<string>;
  /** An administrator of this instance acting itself (signed in, or with its own API token): it holds every right. */
  isAdministrator: boolean;
  /** Acting through an API application, which is never an administrator, whatever agent it logs in as. */
  viaApplication: boolean;
}

/** The caller of a use case: who, from where, under which change-set label, and what it may grant. */
export interface WriteContext {
  actor: Actor;
  request: RequestInfo | null;
  changeSet: string | null;
  authority: Authority;
}

export const systemActor: Actor = { kind: 'system', id: 'system', name: 'Shiplog' };

/** Shiplog itself (bootstrap, the local command line) and an administrator acting itself: every right. */
export const administratorAuthority: Authority = { permissions: new Set(), ticketPermissions: new Set(), isAdministrator: true, viaApplication: false };

/** A caller that may grant nothing (mail turned into tickets). */
export const noAuthority: Authority = { permissions: new Set(), ticketPermissions: new Set(), isAdministrator: false, viaApplication: false };

/** A change-set label: 1–100 characters, letters, digits and . _ : / # -, starting with a letter or digit. */
export const CHANGE_SET_LABEL = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$/;
