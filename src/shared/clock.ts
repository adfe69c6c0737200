/** Time source; tests pass a fixed or stepping clock. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export function fixedClock(start: number, stepMs = 0): Clock {
  let t = start;
  return {
    now() {
      const v = t;
      t += stepMs;
      return v;
    },
  };
}
