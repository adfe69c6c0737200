/**
 * What the services tell an onlooker (the metrics of `/metrics`) as they work. Every method is optional and must not
 * throw or wait: it is called on the request's path, sometimes inside a transaction.
 */
export interface ServiceObserver {
  /** An audit entry was recorded: sign-ins and their refusals, token requests, pushes, pulls, imports, rollbacks … */
  audited?(entry: { kind: string; outcome: string; details?: Record<string, unknown> }): void;
  /** A webhook delivery, runbook run or notification was attempted, and how it ended for now. */
  deliveryAttempted?(attempt: { kind: string; outcome: 'delivered' | 'retrying' | 'failed' }): void;
}
