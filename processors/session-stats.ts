import { LockMode, type EntityManager } from '@mikro-orm/postgresql';
import { newEvent, type EventEnvelope } from '../platform/events/envelope.ts';
import { recordEvent } from '../platform/events/outbox.ts';
import { SessionStats } from '../subgraphs/sessions/entities.ts';

/**
 * Sessions-domain projection: message count, last activity and preview per session.
 * Each change is announced as session.stats-updated so live subscribers see it.
 */
export const sessionStatsTypes = [
  'session.created',
  'message.added',
  'session.forked',
  'session.purged',
] as const;

const pendingStats = new WeakMap<EntityManager, Map<string, SessionStats>>();

export async function applySessionStats(event: EventEnvelope, em: EntityManager): Promise<void> {
  if (!(sessionStatsTypes as readonly string[]).includes(event.type)) return;
  const sessionId = (event.data as { sessionId: string }).sessionId;
  if (event.type === 'session.purged') {
    // The purge already deleted the row; this also drops one a late message.added recreated.
    pendingStats.get(em)?.delete(sessionId);
    await em.nativeDelete(SessionStats, { sessionId });
    return;
  }
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
  let at = new Date(event.time);
  if (event.type === 'message.added') {
    const data = event.data as { createdAt: string; preview: string };
    at = new Date(data.createdAt);
    stats.messageCount += 1;
    // Concurrent messages may arrive out of order: the preview follows the newest one.
    if (!stats.lastActivityAt || at >= stats.lastActivityAt) stats.lastMessagePreview = data.preview;
  } else if (event.type === 'session.forked') {
    // A fork starts with the copied messages (their count and preview come with the event);
    // its last activity is the fork itself, so a new fork sorts first.
    const data = event.data as { messageCount: number; lastActivityAt: string; preview: string };
    stats.messageCount = data.messageCount;
    stats.lastMessagePreview = data.preview;
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
