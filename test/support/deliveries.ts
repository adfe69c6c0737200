import { ok, type Answer, type LiveInstance } from './pipeline.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs the instance's dispatcher until its delivery log shows nothing pending or being sent (or gives up); the log. */
export async function settleDeliveries(instance: LiveInstance): Promise<Answer[]> {
  for (let i = 0; i < 100; i += 1) {
    await instance.services.webhooks.runOnce();
    const log = (await ok(instance, 'GET', '/v1/webhooks/deliveries?limit=200')).items as Answer[];
    if (!log.some((d) => d.status === 'pending' || d.status === 'sending')) return log;
    await sleep(25);
  }
  throw new Error(`${instance.name}: deliveries still pending`);
}
