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

/** The caller of a use case: who, from where, and under which change-set label. */
export interface WriteContext {
  actor: Actor;
  request: RequestInfo | null;
  changeSet: string | null;
}

export const systemActor: Actor = { kind: 'system', id: 'system', name: 'Shiplog' };

/** A change-set label: 1–100 characters, letters, digits and . _ : / # -, starting with a letter or digit. */
export const CHANGE_SET_LABEL = /^[A-Za-z0-9][A-Za-z0-9._:/#-]{0,99}$/;
