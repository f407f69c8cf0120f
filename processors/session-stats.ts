import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { newEvent, type EventEnvelope } from '../platform/events/envelope.ts';
import { recordEvent } from '../platform/events/outbox.ts';
import { SessionStats } from '../subgraphs/sessions/entities.ts';

/**
 * Sessions-domain projection: message count, last activity and preview per session.
 * Each change is announced as session.stats-updated so live subscribers see it.
 */
export const sessionStatsTypes = ['session.created', 'message.added'] as const;

const pendingStats = new WeakMap<EntityManager, Map<string, SessionStats>>();

export async function applySessionStats(event: EventEnvelope, em: EntityManager): Promise<void> {
  if (event.type !== 'session.created' && event.type !== 'message.added') return;
  const sessionId = (event.data as { sessionId: string }).sessionId;
  // One transaction may carry several events of one session; they share one row.
  const pending = pendingStats.get(em) ?? new Map<string, SessionStats>();
  pendingStats.set(em, pending);
  let stats =
    pending.get(sessionId) ??
    (await em.findOne(SessionStats, { sessionId }, { lockMode: LockMode.PESSIMISTIC_WRITE }));
  stats ??= em.create(SessionStats, {
    sessionId,
    ownerId: event.userId,
    messageCount: 0,
    lastActivityAt: null,
    lastMessagePreview: null,
  });
  pending.set(sessionId, stats);
  const at = new Date(
    event.type === 'message.added' ? (event.data as { createdAt: string }).createdAt : event.time,
  );
  if (event.type === 'message.added') {
    stats.messageCount += 1;
    stats.lastMessagePreview = (event.data as { preview: string }).preview;
  }
  if (!stats.lastActivityAt || at > stats.lastActivityAt) stats.lastActivityAt = at;
  recordEvent(
    em,
    newEvent({
      type: 'session.stats-updated',
      source: 'processors.session-stats',
      subject: sessionId,
      userId: event.userId,
      data: {
        sessionId,
        messageCount: stats.messageCount,
        lastActivityAt: stats.lastActivityAt.toISOString(),
      },
    }),
  );
}
