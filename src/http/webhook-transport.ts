import type { WebhookRequest, WebhookTransport } from '../desk/webhooks.js';

/**
 * Sends webhook requests with fetch: no redirects followed (a redirect is an answer, not a delivery), the webhook's
 * timeout on the whole exchange, and the response body read and dropped so the connection is reused.
 */
export function createFetchWebhookTransport(): WebhookTransport {
  return {
    async send(request: WebhookRequest) {
      let response: Response;
      try {
        response = await fetch(request.url, {
          method: request.method,
          headers: request.headers,
          ...(request.body === null ? {} : { body: request.body }),
          redirect: 'manual',
          signal: AbortSignal.timeout(request.timeoutMs),
        });
      } catch (error) {
        // The cause names the network failure (refused, reset, unknown host); never the request, which holds credentials.
        const cause = error instanceof Error && error.name === 'TimeoutError' ? `no answer within ${request.timeoutMs} ms` : describe(error);
        throw new Error(cause);
      }
      await response.arrayBuffer().catch(() => undefined);
      return { status: response.status };
    },
  };
}

function describe(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : 'the request failed');
}
