import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from './metrics.ts';

export type ReadinessCheck = () => Promise<Record<string, unknown> & { ok: boolean }>;

/**
 * /healthz (process alive, with dependency details), /readyz (can serve), /metrics.
 * Returns true when it answered the request.
 */
export function createOpsHandler(deps: { metrics: Metrics; checks: Record<string, ReadinessCheck> }) {
  async function runChecks() {
    const results: Record<string, unknown> = {};
    let ok = true;
    for (const [name, check] of Object.entries(deps.checks)) {
      try {
        const r = await check();
        results[name] = r;
        ok &&= r.ok;
      } catch (error) {
        results[name] = { ok: false, error: (error as Error).message };
        ok = false;
      }
    }
    return { ok, checks: results };
  }
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    const path = req.url?.split('?')[0];
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(await deps.metrics.registry.metrics());
      return true;
    }
    if (path === '/healthz' || path === '/readyz') {
      const report = await runChecks();
      const status = path === '/healthz' || report.ok ? 200 : 503;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: report.ok ? 'ok' : 'degraded', ...report }));
      return true;
    }
    return false;
  };
}
