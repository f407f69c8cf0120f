import type { Database } from '../../platform/db/orm.ts';
import type { Logger } from '../../platform/logger.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { cleanupAttachments } from './attachments.ts';
import { cleanupExports } from './export.ts';
import { createRetention } from './retention.ts';
import type { StorageLimits } from './storage-limits.ts';

/**
 * The periodic storage work of the sessions service: unconfirmed uploads and orphaned
 * attachments are removed, old exports expire, and retention archives old messages. Every
 * `jobsIntervalSeconds` (0: never); a round never overlaps the previous one.
 */
export function createStorageJobs(deps: {
  db: Database;
  objects: ObjectStore;
  logger: Logger;
  limits: StorageLimits;
  /** Wakes the outbox relay after events were recorded (removal and archive events). */
  wake?: () => void;
}) {
  const logger = deps.logger.child({ job: 'sessions-storage' });
  const retention = createRetention(deps);
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;

  async function round() {
    const attachments = await cleanupAttachments(deps.db.fork(), deps.objects, deps.limits);
    const exports = await cleanupExports(deps.db.fork(), deps.objects, deps.limits);
    const archived = await retention.run();
    deps.wake?.();
    logger.info(
      { ...attachments, exports, archived: archived.messages, skipped: archived.skipped },
      'storage jobs ran',
    );
  }

  return {
    retention,
    /** One round now (the CLI and tests); resolves when it is done. */
    runOnce: () => round(),
    start() {
      if (deps.limits.jobsIntervalSeconds === 0) return;
      timer = setInterval(() => {
        if (running) return;
        running = round()
          .catch((error: unknown) => logger.error({ err: error }, 'storage jobs failed'))
          .finally(() => (running = undefined));
      }, deps.limits.jobsIntervalSeconds * 1000);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
export type StorageJobs = ReturnType<typeof createStorageJobs>;
