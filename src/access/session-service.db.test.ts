import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../shared/ids.js';
import { isDomainError, type DomainError } from '../shared/errors.js';
import type { AgentRecord, AuditEvent } from '../store/ports.js';
import { engines } from '../../test/support/databases.js';
import { createTestInstance, type TestInstance } from '../../test/support/instance.js';
import { hashPassword } from './passwords.js';
import { hashCredential } from './secrets.js';
import { defaultSessionPolicy, type SignInRefusal } from './session-service.js';
import { insertAgent } from '../../test/support/principals.js';

const PASSWORD = 'a long and correct password';
const ADMIN_PASSWORD = 'correct horse battery staple';

describe.each(engines)('session service on %s', (engine) => {
  let t: TestInstance;
  let now = Date.UTC(2026, 0, 5, 9, 0, 0);
  let passwordHash: string;
  let address = 0;
  // Each test signs in from its own address, so throttling in one test never leaks into another.
  const origin = () => ({ remoteAddress: `10.0.0.${++address}`, requestId: newId() });

  beforeAll(async () => {
    t = await createTestInstance(engine, { clock: { now: () => now } });
    passwordHash = await hashPassword(PASSWORD);
  });
  afterAll(async () => t?.close());

  const addAgent = (email: string, fields: Partial<AgentRecord> = {}): Promise<AgentRecord> =>
    insertAgent(t, { name: email.split('@')[0]!, email, passwordHash, ...fields }, now);

  async function refusal(promise: Promise<unknown>): Promise<DomainError> {
    const error = await promise.then(
      () => null,
      (e: unknown) => e,
    );
    if (!isDomainError(error)) throw new Error(`expected a domain error, got ${String(error)}`);
    return error;
  }

  const auditFor = async (email: string): Promise<AuditEvent[]> =>
    (await t.services.audit.list({ kind: 'session.sign-in', limit: 200 })).filter((e) => e.subject === email);

  it('signs in with the right password and stores only hashes of the session and CSRF tokens', async () => {
    const from = origin();
    const signed = await t.services.sessions.signIn({ email: '  Admin@Shiplog.Local ', password: ADMIN_PASSWORD }, from);
    expect(signed.agent).toMatchObject({ name: 'Administrator', email: 'admin@shiplog.local' });
    expect(signed.sessionToken).toMatch(/^sss_[\w-]{43}$/);
    expect(signed.csrfToken).toMatch(/^csrf_[\w-]{43}$/);
    expect(signed.expiresAt).toBe(now + defaultSessionPolicy.lifetimeMs);

    const rows = await t.database.dialect.db.selectFrom('sessions').selectAll().where('agent_id', '=', signed.agent.id).execute();
    const row = rows.find((r) => r.token_hash === hashCredential(signed.sessionToken));
    expect(row).toMatchObject({ csrf_hash: hashCredential(signed.csrfToken) });
    expect(JSON.stringify(rows)).not.toContain(signed.sessionToken);
    expect(JSON.stringify(rows)).not.toContain(signed.csrfToken);
    expect(await t.services.sessions.expiryOf(hashCredential(signed.sessionToken))).toBe(signed.expiresAt);

    const [event] = await auditFor('admin@shiplog.local');
    expect(event).toMatchObject({
      kind: 'session.sign-in',
      outcome: 'success',
      actor: { kind: 'agent', id: signed.agent.id, name: 'Administrator' },
      remoteAddress: from.remoteAddress,
      requestId: from.requestId,
      details: { agentId: signed.agent.id },
    });
    expect(JSON.stringify(event)).not.toContain(ADMIN_PASSWORD);
    expect(JSON.stringify(event)).not.toContain(signed.sessionToken);
    expect(JSON.stringify(event)).not.toContain(signed.csrfToken);
  });

  it('refuses every reason with the same error, and audits the real reason', async () => {
    await addAgent('wrong@example.com');
    await addAgent('api@example.com', { apiOnly: true, passwordHash: null });
    await addAgent('api-with-hash@example.com', { apiOnly: true });
    await addAgent('disabled@example.com', { disabled: true });
    await addAgent('nopass@example.com', { passwordHash: null });
    const cases: [string, string, SignInRefusal][] = [
      ['nobody@example.com', PASSWORD, 'unknown-email'],
      ['wrong@example.com', 'not the password', 'wrong-password'],
      ['api@example.com', PASSWORD, 'api-only'],
      ['api-with-hash@example.com', PASSWORD, 'api-only'],
      ['disabled@example.com', PASSWORD, 'disabled'],
      ['nopass@example.com', PASSWORD, 'no-password'],
    ];
    const messages = new Set<string>();
    for (const [email, password, reason] of cases) {
      const error = await refusal(t.services.sessions.signIn({ email, password }, origin()));
      expect(error.code, email).toBe('SIGN_IN_REFUSED');
      expect(error.details).toEqual({});
      messages.add(error.message);
      const events = await auditFor(email);
      expect(events, email).toHaveLength(1);
      expect(events[0]).toMatchObject({ outcome: 'failure', actor: null, details: { reason } });
      expect(JSON.stringify(events[0])).not.toContain(password);
    }
    expect(messages.size).toBe(1);
  });

  it('throttles failures per email and address, lets the right password through from elsewhere, and resets on success', async () => {
    const agent = await addAgent('throttled@example.com');
    const here = origin();
    const elsewhere = origin();
    const attempt = (password: string, from = here) => t.services.sessions.signIn({ email: agent.email, password }, from);

    for (let i = 0; i < defaultSessionPolicy.maxFailures; i++) expect((await refusal(attempt('guess'))).code).toBe('SIGN_IN_REFUSED');
    const blocked = await refusal(attempt(PASSWORD));
    expect(blocked.code).toBe('TOO_MANY_ATTEMPTS');
    expect(blocked.details.retryAfterSeconds).toBe(60);
    now += 15_000;
    expect((await refusal(attempt('guess'))).details.retryAfterSeconds).toBe(45);

    // Another address is not throttled by these failures; a different email from this address is not either.
    expect((await attempt(PASSWORD, elsewhere)).agent.id).toBe(agent.id);
    expect((await t.services.sessions.signIn({ email: 'admin@shiplog.local', password: ADMIN_PASSWORD }, here)).agent.email).toBe('admin@shiplog.local');

    const reasons = (await auditFor(agent.email)).map((e) => [e.outcome, e.details.reason ?? null, e.remoteAddress]);
    expect(reasons).toEqual([
      ['success', null, elsewhere.remoteAddress],
      ['failure', 'throttled', here.remoteAddress],
      ['failure', 'throttled', here.remoteAddress],
      ...Array.from({ length: 5 }, () => ['failure', 'wrong-password', here.remoteAddress]),
    ]);

    // The window ends: the right password works again, and a success starts the count afresh.
    now += defaultSessionPolicy.windowMs;
    for (let i = 0; i < defaultSessionPolicy.maxFailures - 1; i++) await refusal(attempt('guess'));
    expect((await attempt(PASSWORD)).agent.id).toBe(agent.id);
    for (let i = 0; i < defaultSessionPolicy.maxFailures - 1; i++) expect((await refusal(attempt('guess'))).code).toBe('SIGN_IN_REFUSED');
    expect((await refusal(attempt('guess'))).code).toBe('SIGN_IN_REFUSED');
    expect((await refusal(attempt(PASSWORD))).code).toBe('TOO_MANY_ATTEMPTS');
  });

  it('counts parallel guesses before checking them, so no more than the limit are tried', async () => {
    const agent = await addAgent('parallel@example.com');
    const from = origin();
    const results = await Promise.all(Array.from({ length: 8 }, () => refusal(t.services.sessions.signIn({ email: agent.email, password: 'guess' }, from))));
    const codes = results.map((e) => e.code).sort();
    expect(codes).toEqual([...Array<string>(5).fill('SIGN_IN_REFUSED'), ...Array<string>(3).fill('TOO_MANY_ATTEMPTS')]);
  });

  it('signs out: the session is gone and the sign-out is audited', async () => {
    const agent = await addAgent('leaver@example.com');
    const signed = await t.services.sessions.signIn({ email: agent.email, password: PASSWORD }, origin());
    const sessionHash = hashCredential(signed.sessionToken);
    expect(await t.services.authenticator.session(signed.sessionToken)).not.toBeNull();

    const from = origin();
    await t.services.sessions.signOut(sessionHash, { kind: 'agent', id: agent.id, name: agent.name }, from);
    expect(await t.services.sessions.expiryOf(sessionHash)).toBeNull();
    expect(await t.services.authenticator.session(signed.sessionToken)).toBeNull();
    const events = (await t.services.audit.list({ kind: 'session.sign-out', actorId: agent.id, limit: 10 })).map((e) => [e.outcome, e.remoteAddress]);
    expect(events).toEqual([['success', from.remoteAddress]]);

    // Signing out twice records nothing more.
    await t.services.sessions.signOut(sessionHash, { kind: 'agent', id: agent.id, name: agent.name }, origin());
    expect(await t.services.audit.list({ kind: 'session.sign-out', actorId: agent.id, limit: 10 })).toHaveLength(1);
  });

  it('ends a session at its expiry', async () => {
    const agent = await addAgent('expiring@example.com');
    const signed = await t.services.sessions.signIn({ email: agent.email, password: PASSWORD }, origin());
    now = signed.expiresAt - 1;
    expect(await t.services.authenticator.session(signed.sessionToken)).not.toBeNull();
    now = signed.expiresAt;
    expect(await t.services.authenticator.session(signed.sessionToken)).toBeNull();
  });
});
