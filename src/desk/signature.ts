import { createHmac } from 'node:crypto';

/** `Shiplog-Signature` of a body: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/**
 * The headers that name a delivery to its receiver — `Shiplog-Event`, `Shiplog-Delivery` (the same on every retry) —
 * and, when there is a signing secret, `Shiplog-Signature` of the body sent at `now`.
 */
export function deliveryHeaders(delivery: { id: string; event: string }, body: string, signingSecret: string | null, now: number): Record<string, string> {
  const headers: Record<string, string> = { 'shiplog-event': delivery.event, 'shiplog-delivery': delivery.id };
  if (signingSecret) headers['shiplog-signature'] = signatureOf(signingSecret, Math.floor(now / 1000), body);
  return headers;
}
