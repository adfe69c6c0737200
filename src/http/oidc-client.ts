import * as oidc from 'openid-client';
import { OidcProviderUnavailable, type OidcClient, type OidcConnection } from '../access/sso-service.js';

/** How long a provider's discovered metadata is reused before it is fetched again. */
const DISCOVERY_TTL_MS = 5 * 60 * 1000;
/** Seconds each request to the provider may take (discovery passes it on to the rest): a hanging provider fails the sign-in. */
const PROVIDER_TIMEOUT_S = 10;

/** Plain HTTP to an identity provider only on loopback (a provider on the same machine); everything else must be HTTPS. */
function isLoopback(url: URL): boolean {
  return url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';
}

/** Answers that say the provider failed rather than refused: no answer, an error status, or not the protocol's shape. */
const PROVIDER_FAULTS = new Set(['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_PARSE_ERROR', 'OAUTH_INVALID_SERVER_METADATA', 'OAUTH_MISSING_SERVER_METADATA']);

function providerFault(error: unknown): boolean {
  if (error instanceof TypeError) return true; // fetch: refused, reset, unresolvable
  if (error instanceof DOMException) return error.name === 'TimeoutError' || error.name === 'AbortError';
  if (error instanceof oidc.ResponseBodyError) return error.status >= 500;
  return error instanceof oidc.ClientError && error.code !== undefined && PROVIDER_FAULTS.has(error.code);
}

/** Runs one step against the provider: its failures become OidcProviderUnavailable; refusals pass through as they are. */
async function asking<T>(step: OidcProviderUnavailable['step'], run: () => Promise<T>, always = false): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!always && !providerFault(error)) throw error;
    const message = error instanceof Error ? `${error.message}${error.cause instanceof Error ? `: ${error.cause.message}` : ''}` : 'no answer';
    throw new OidcProviderUnavailable(step, message);
  }
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
    // Whatever keeps discovery from giving metadata (no answer, an error, a document for another issuer) is the provider's failure.
    const config = asking('discovery', () => oidc.discovery(issuer, connection.clientId, undefined, auth, { execute, timeout: PROVIDER_TIMEOUT_S }), true);
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
      // The token request and the keys that verify the ID token: a failure of either is the provider's, a refusal is not.
      const tokens = await asking('token', () =>
        oidc.authorizationCodeGrant(config, current, {
          pkceCodeVerifier: callback.codeVerifier,
          expectedState: callback.state,
          expectedNonce: callback.nonce,
          idTokenExpected: true,
        }),
      );
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider returned no ID token');
      // Providers put scope claims (email, groups) in the ID token or only behind the userinfo endpoint: both are read,
      // userinfo for the same subject only, and the ID token's own claims win.
      const userinfo = config.serverMetadata().userinfo_endpoint ? await asking('userinfo', () => oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) : {};
      return { ...userinfo, ...claims };
    },
  };
}
