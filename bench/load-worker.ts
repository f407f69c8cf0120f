import { parentPort, workerData } from 'node:worker_threads';

/**
 * Closed-loop HTTP load on its own thread, so the client's own work (JSON, fetch) does not run
 * on the event loop of the Parley process it measures. Each of `concurrency` clients sends the
 * next body as soon as the previous answer arrived, for `seconds`.
 */
export interface LoadJob {
  url: string;
  token: string;
  bodies: string[];
  concurrency: number;
  seconds: number;
  /** A response counts as failed when it has errors or its JSON has this substring fewer than `times` times. */
  expect: string;
  times: number;
}

const job = workerData as LoadJob;
const latencies: number[] = [];
let failures = 0;
let next = 0;
const started = performance.now();
const end = started + job.seconds * 1000;
await Promise.all(
  Array.from({ length: job.concurrency }, async () => {
    while (performance.now() < end) {
      const body = job.bodies[next++ % job.bodies.length]!;
      const t = performance.now();
      try {
        const response = await fetch(job.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${job.token}` },
          body,
        });
        const text = await response.text();
        if (!response.ok || text.includes('"errors"') || text.split(job.expect).length - 1 < job.times)
          failures += 1;
      } catch {
        failures += 1;
      }
      latencies.push(performance.now() - t);
    }
  }),
);
parentPort!.postMessage({ latencies, failures, seconds: (performance.now() - started) / 1000 });
