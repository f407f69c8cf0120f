import type { RequestOrigin } from '../platform/auth/identity.ts';
import type { Database } from '../platform/db/orm.ts';
import { newEvent } from '../platform/events/envelope.ts';
import { createOutboxRelay, recordEvent } from '../platform/events/outbox.ts';
import type { EventTransport } from '../platform/events/transport.ts';
import type { Metrics } from '../platform/http/metrics.ts';
import type { Logger } from '../platform/logger.ts';

export interface SecurityEvents {
  /** Records a refused credential (through the router's outbox, so a Kafka outage loses nothing). */
  authFailed(input: {
    credential: 'jwt' | 'api-key';
    reason: string;
    requestId: string;
    origin: RequestOrigin;
  }): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** No caller is known when a credential fails: the audit trail shows this actor. */
export const ANONYMOUS = 'anonymous';

export function createSecurityEvents(deps: {
  db: Database;
  transport: EventTransport;
  logger: Logger;
  metrics: Metrics;
}): SecurityEvents {
  const relay = createOutboxRelay({ ...deps, schema: 'router' });
  return {
    async authFailed({ credential, reason, requestId, origin }) {
      const em = deps.db.fork();
      recordEvent(
        em,
        newEvent({
          type: 'security.auth-failed',
          source: 'router',
          subject: credential,
          userId: ANONYMOUS,
          data: { credential, reason: reason.slice(0, 500) },
          actor: {
            ...(origin.ip ? { ip: origin.ip } : {}),
            ...(origin.userAgent ? { userAgent: origin.userAgent } : {}),
          },
          requestId,
          ...(origin.traceId ? { traceId: origin.traceId } : {}),
        }),
      );
      await em.flush();
      relay.wake();
    },
    start: () => relay.start(),
    stop: () => relay.stop(),
  };
}
