/** A piece of work a serving instance repeats: one round at a time, never two at once. */
export interface RepeatingTask<T> {
  /** One round now (joins the round already running, if any). */
  runOnce(): Promise<T>;
  /** Runs a round now and every `intervalMs` from now on. */
  start(): void;
  stop(): Promise<void>;
}

export function repeatingTask<T>(round: () => Promise<T>, intervalMs: number): RepeatingTask<T> {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<T> | undefined;
  const task: RepeatingTask<T> = {
    runOnce() {
      running ??= round().finally(() => {
        running = undefined;
      });
      return running;
    },
    start() {
      if (timer) return;
      // A round that failed (the database away) is tried again at the next one.
      const tick = () => void task.runOnce().catch(() => undefined);
      tick();
      timer = setInterval(tick, intervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await running?.catch(() => undefined);
    },
  };
  return task;
}
