import * as oidc from 'openid-client';
import type { OidcClient, OidcConnection } from '../access/sso-service.js';

/** How long a provider's discovered metadata is reused before it is fetched again. */
const DISCOVERY_TTL_MS = 5 * 60 * 1000;

/** Plain HTTP to an identity provider only on loopback (a provider on the same machine); everything else must be HTTPS. */
function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** The relying party side of OpenID Connect, with openid-client: discovery, PKCE, and ID token validation. */
export function createOpenIdClient(): OidcClient {
  const discovered = new Map<string, { config: Promise<oidc.Configuration>; at: number }>();

  function configOf(connection: OidcConnection): Promise<oidc.Configuration> {
    const key = JSON.stringify([connection.issuer, connection.clientId, connection.clientSecret]);
    const hit = discovered.get(key);
    if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.config;
    const issuer = new URL(connection.issuer);
    const auth = connection.clientSecret ? oidc.ClientSecretPost(connection.clientSecret) : oidc.None();
    // ID tokens are verified against the provider's keys even when they come straight from its token endpoint.
    const execute = isLoopback(issuer) ? [oidc.allowInsecureRequests, oidc.enableNonRepudiationChecks] : [oidc.enableNonRepudiationChecks];
    const config = oidc.discovery(issuer, connection.clientId, undefined, auth, { execute });
    // A failed discovery is not kept: the next sign-in tries again.
    config.catch(() => discovered.delete(key));
    discovered.set(key, { config, at: Date.now() });
    return config;
  }

  return {
    async authorizationUrl(connection, request) {
      const config = await configOf(connection);
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: request.redirectUri,
        scope: connection.scopes.join(' '),
        response_type: 'code',
        state: request.state,
        nonce: request.nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(request.codeVerifier),
        code_challenge_method: 'S256',
      });
      return url.href;
    },
    async exchange(connection, callback) {
      const config = await configOf(connection);
      // The callback URL as the provider redirected to it: its origin and path must be the registered redirect URI.
      const current = new URL(callback.redirectUri);
      current.search = callback.url.search;
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: callback.codeVerifier,
        expectedState: callback.state,
        expectedNonce: callback.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider returned no ID token');
      // Providers put scope claims (email, groups) in the ID token or only behind the userinfo endpoint: both are read,
      // userinfo for the same subject only, and the ID token's own claims win.
      const userinfo = config.serverMetadata().userinfo_endpoint ? await oidc.fetchUserInfo(config, tokens.access_token, claims.sub) : {};
      return { ...userinfo, ...claims };
    },
  };
}
