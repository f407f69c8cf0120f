import { describe, expect, it } from '@jest/globals';
import { createCircuitBreaker } from './circuit-breaker.ts';

const failing = () => Promise.reject(new Error('down'));
const working = () => Promise.resolve('ok');

function breakerWithClock() {
  let time = 0;
  const breaker = createCircuitBreaker({
    name: 's3',
    failureThreshold: 5,
    resetTimeoutMs: 10_000,
    callTimeoutMs: 50,
    now: () => time,
  });
  return { breaker, advance: (ms: number) => (time += ms) };
}

describe('a circuit breaker', () => {
  it('stays closed through fewer than five consecutive failures', async () => {
    const { breaker } = breakerWithClock();
    for (let i = 0; i < 4; i += 1) await expect(breaker.call(failing)).rejects.toThrow('down');
    expect(breaker.state()).toBe('closed');
    await expect(breaker.call(working)).resolves.toBe('ok');
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
  });

  it('opens after five and then fails fast with SERVICE_UNAVAILABLE, without calling', async () => {
    const { breaker } = breakerWithClock();
    for (let i = 0; i < 5; i += 1) await expect(breaker.call(failing)).rejects.toThrow('down');
    expect(breaker.state()).toBe('open');
    let called = false;
    await expect(breaker.call(async () => ((called = true), 'x'))).rejects.toMatchObject({
      extensions: { code: 'SERVICE_UNAVAILABLE', dependency: 's3' },
    });
    expect(called).toBe(false);
  });

  it('lets one trial call through after ten seconds and closes when it succeeds', async () => {
    const { breaker, advance } = breakerWithClock();
    for (let i = 0; i < 5; i += 1) await expect(breaker.call(failing)).rejects.toThrow();
    advance(10_000);
    expect(breaker.state()).toBe('half-open');
    await expect(breaker.call(working)).resolves.toBe('ok');
    expect(breaker.state()).toBe('closed');
  });

  it('reopens when the trial call fails', async () => {
    const { breaker, advance } = breakerWithClock();
    for (let i = 0; i < 5; i += 1) await expect(breaker.call(failing)).rejects.toThrow();
    advance(10_000);
    await expect(breaker.call(failing)).rejects.toThrow('down');
    expect(breaker.state()).toBe('open');
  });

  it('counts a call slower than the timeout as a failure', async () => {
    const { breaker } = breakerWithClock();
    await expect(breaker.call(() => new Promise((r) => setTimeout(r, 500)))).rejects.toThrow(
      /timed out after 50 ms/,
    );
    expect(breaker.snapshot().consecutiveFailures).toBe(1);
  });
});
