import { repeatingTask, type RepeatingTask } from '../shared/repeating-task.js';
import type { PromotionService } from './promotion-service.js';

/** Applies scheduled promotion requests when their time comes (a round: PromotionService.runDue); runs where the instance serves. */
export type PromotionScheduler = RepeatingTask<number>;

export function createPromotionScheduler(promotions: Pick<PromotionService, 'runDue'>, options: { intervalMs?: number } = {}): PromotionScheduler {
  return repeatingTask(() => promotions.runDue(), options.intervalMs ?? 30_000);
}
