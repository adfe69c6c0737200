import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import Provider, { type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';

/** The key id the provider signs ID tokens with. */
export const KID = 'idp-signing-key';

export type Tamper = (idToken: string) => Promise<string>;

/**
 * A real OpenID Provider (oidc-provider) on loopback: one confidential client, PKCE required, login answered by the
 * test (who signs in next), consent granted. `tamper` rewrites the ID token of the next token response.
 */
export async function startProvider(
  redirectUri: string,
  options: { accounts: Record<string, Record<string, unknown>>; clientIds: string[]; clientSecret: string },
): Promise<{ issuer: string; login(account: string): void; tamper(fn: Tamper | null): void; fail(path: string | null): void; key: CryptoKey; close(): Promise<void> }> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: KID, alg: 'RS256', use: 'sig' };
  let nextLogin = Object.keys(options.accounts)[0]!;
  let tamper: Tamper | null = null;
  let failing: string | null = null;
  const client = (clientId: string): ClientMetadata => ({
    client_id: clientId,
    client_secret: options.clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_post',
  });
  const provider = new Provider(issuer, {
    clients: options.clientIds.map(client),
    jwks: { keys: [jwk] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    cookies: { keys: ['test-cookie-signing-key'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: KoaContextWithOIDC, interaction) => `/interaction/${interaction.uid}` },
    async findAccount(_ctx: KoaContextWithOIDC, id: string) {
      const claims = options.accounts[id];
      return claims ? { accountId: id, claims: () => claims as never } : undefined;
    },
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (failing && req.url?.startsWith(failing)) {
      res.writeHead(503, { 'content-type': 'text/html' }).end('<h1>Service Unavailable</h1>');
      return;
    }
    if (req.url?.startsWith('/interaction/')) {
      void provider.interactionFinished(req, res, { login: { accountId: nextLogin } }, { mergeWithLastSubmission: false });
      return;
    }
    const rewrite = tamper;
    if (rewrite && req.method === 'POST' && req.url?.startsWith('/token')) {
      tamper = null;
      const chunks: Buffer[] = [];
      const end = res.end.bind(res);
      res.write = ((chunk: Buffer | string) => (chunks.push(Buffer.from(chunk)), true)) as typeof res.write;
      res.end = ((chunk?: Buffer | string) => {
        if (chunk) chunks.push(Buffer.from(chunk));
        void (async () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id_token?: string };
          if (json.id_token) json.id_token = await rewrite(json.id_token);
          const body = JSON.stringify(json);
          res.setHeader('content-length', Buffer.byteLength(body));
          end(body);
        })();
        return res;
      }) as typeof res.end;
    }
    callback(req, res);
  });
  return {
    issuer,
    login: (account) => (nextLogin = account),
    tamper: (fn) => (tamper = fn),
    fail: (path) => (failing = path),
    key: privateKey,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

