import { AppError, ErrorCode } from '../errors.ts';
import type { Metrics } from '../http/metrics.ts';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  name: string;
  /** Consecutive failures that open the breaker. */
  failureThreshold?: number;
  /** How long it stays open before one trial call is let through. */
  resetTimeoutMs?: number;
  /** A call slower than this counts as a failure. */
  callTimeoutMs?: number;
  metrics?: Metrics | undefined;
  now?: () => number;
}

export class CircuitOpenError extends AppError {
  constructor(name: string, retryInMs: number) {
    super(
      ErrorCode.SERVICE_UNAVAILABLE,
      `${name} is unavailable; retry in ${Math.ceil(retryInMs / 1000)} s`,
      { dependency: name },
    );
  }
}

class CallTimeoutError extends Error {}

/**
 * Stops calling a dependency that keeps failing, so its outage does not tie up every
 * request: open after N consecutive failures, one trial call after the reset timeout.
 */
export function createCircuitBreaker(options: CircuitBreakerOptions) {
  const threshold = options.failureThreshold ?? 5;
  const resetMs = options.resetTimeoutMs ?? 10_000;
  const timeoutMs = options.callTimeoutMs ?? 30_000;
  const now = options.now ?? Date.now;
  let failures = 0;
  let openedAt: number | undefined;
  let trialInFlight = false;

  const state = (): BreakerState =>
    openedAt === undefined ? 'closed' : now() - openedAt >= resetMs ? 'half-open' : 'open';
  const report = () =>
    options.metrics?.breakerState.set({ dependency: options.name }, state() === 'open' ? 1 : 0);

  function succeed() {
    failures = 0;
    openedAt = undefined;
    report();
  }
  function fail() {
    failures += 1;
    if (openedAt !== undefined || failures >= threshold) openedAt = now();
    report();
  }

  return {
    name: options.name,
    state,
    snapshot: () => ({ state: state(), consecutiveFailures: failures }),
    async call<T>(fn: () => Promise<T>): Promise<T> {
      const current = state();
      if (current === 'open' || (current === 'half-open' && trialInFlight)) {
        throw new CircuitOpenError(options.name, resetMs - (now() - (openedAt ?? now())));
      }
      const trial = current === 'half-open';
      if (trial) trialInFlight = true;
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = await Promise.race([
          fn(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new CallTimeoutError(`${options.name} call timed out after ${timeoutMs} ms`)),
              timeoutMs,
            );
          }),
        ]);
        succeed();
        return result;
      } catch (error) {
        fail();
        throw error;
      } finally {
        clearTimeout(timer);
        if (trial) trialInFlight = false;
      }
    },
  };
}
export type CircuitBreaker = ReturnType<typeof createCircuitBreaker>;
