import { createServer, type Server } from 'node:http';
import { createDatabase, type Database } from '../platform/db/orm.ts';
import { createConsumer, type Consumer } from '../platform/events/consumer.ts';
import { createOutboxRelay, type OutboxRelay } from '../platform/events/outbox.ts';
import type { EventTransport } from '../platform/events/transport.ts';
import type { Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/http/metrics.ts';
import { createOpsHandler } from '../platform/http/health.ts';
import { sessionsEntities } from '../subgraphs/sessions/entities.ts';
import { sessionsMigrations } from '../subgraphs/sessions/migrations.ts';
import { auditEntities } from '../subgraphs/audit/entities.ts';
import { auditMigrations } from '../subgraphs/audit/migrations.ts';
import { applySessionStats, sessionStatsTypes } from './session-stats.ts';
import { tasksEntities } from '../subgraphs/tasks/entities.ts';
import { tasksMigrations } from '../subgraphs/tasks/migrations.ts';
import { createReminderScheduler } from './reminder-scheduler.ts';
import { createNotification, notificationTypes } from './notifications.ts';
import { createNextOccurrence, recurrenceTypes } from './recurrence.ts';
import { applyTaskStats, taskStatsTypes } from './task-stats.ts';
import { createAuditJobs, type AuditJobsConfig } from './audit-jobs.ts';
import { appendAuditRecord, auditedTopics, auditedTypes } from './audit-writer.ts';

export interface ProcessorsDeps {
  databaseUrl: string;
  transport: EventTransport;
  logger: Logger;
  metrics: Metrics;
  host: string;
  port: number;
  /** Consumer group names get this prefix (tests isolate groups per file). */
  groupPrefix?: string;
  /** The sessions outbox relay of a subgraph in the same process, if any: one relay per schema per process. */
  sessionsRelay?: OutboxRelay;
  /** The tasks outbox relay of a subgraph in the same process, if any. */
  tasksRelay?: OutboxRelay;
  /** Runs the reminder scheduler (default true); tests start extra schedulers of their own. */
  reminderScheduler?: boolean;
  audit: AuditJobsConfig;
}

/** All consumer groups of Parley, hosted by one process; each writes only its own domain's schema. */
export async function createProcessors(deps: ProcessorsDeps) {
  const logger = deps.logger.child({ process: 'processors' });
  const prefix = deps.groupPrefix ?? '';
  const sessionsDb = await createDatabase({
    url: deps.databaseUrl,
    schema: 'sessions',
    entities: sessionsEntities,
    migrations: sessionsMigrations,
    logger,
    poolSize: 5,
  });
  const auditDb = await createDatabase({
    url: deps.databaseUrl,
    schema: 'audit',
    entities: auditEntities,
    migrations: auditMigrations,
    logger,
    poolSize: 5,
  });
  const tasksDb = await createDatabase({
    url: deps.databaseUrl,
    schema: 'tasks',
    entities: tasksEntities,
    migrations: tasksMigrations,
    logger,
    poolSize: 5,
  });
  const databases: Database[] = [sessionsDb, auditDb, tasksDb];
  // The stats projection announces its changes through the sessions outbox.
  const ownRelay = deps.sessionsRelay
    ? undefined
    : createOutboxRelay({
        db: sessionsDb,
        schema: 'sessions',
        transport: deps.transport,
        logger,
        metrics: deps.metrics,
      });
  const sessionsRelay = deps.sessionsRelay ?? ownRelay!;
  // Reminders, notifications, next occurrences and task stats go out through the tasks outbox.
  const ownTasksRelay = deps.tasksRelay
    ? undefined
    : createOutboxRelay({
        db: tasksDb,
        schema: 'tasks',
        transport: deps.transport,
        logger,
        metrics: deps.metrics,
      });
  const tasksRelay = deps.tasksRelay ?? ownTasksRelay!;
  const scheduler =
    deps.reminderScheduler === false
      ? undefined
      : createReminderScheduler({ db: tasksDb, logger, wakeRelay: () => tasksRelay.wake() });
  const common = { transport: deps.transport, logger, metrics: deps.metrics };
  const consumers: Consumer[] = [
    createConsumer({
      ...common,
      name: `${prefix}session-stats`,
      topics: ['session-events'],
      types: sessionStatsTypes,
      db: sessionsDb,
      handle: applySessionStats,
      afterCommit: () => sessionsRelay.wake(),
    }),
    createConsumer({
      ...common,
      name: `${prefix}audit-writer`,
      topics: auditedTopics,
      types: auditedTypes,
      db: auditDb,
      handle: appendAuditRecord,
    }),
    createConsumer({
      ...common,
      name: `${prefix}notifications`,
      topics: ['task-events'],
      types: notificationTypes,
      db: tasksDb,
      handle: createNotification,
      afterCommit: () => tasksRelay.wake(),
    }),
    createConsumer({
      ...common,
      name: `${prefix}task-recurrence`,
      topics: ['task-events'],
      types: recurrenceTypes,
      db: tasksDb,
      handle: createNextOccurrence,
      afterCommit: () => {
        tasksRelay.wake();
        scheduler?.rearm();
      },
    }),
    createConsumer({
      ...common,
      name: `${prefix}task-stats`,
      topics: ['task-events'],
      types: taskStatsTypes,
      db: tasksDb,
      handle: applyTaskStats,
    }),
  ];
  const auditJobs = createAuditJobs({ ...deps.audit, db: auditDb, logger });
  const ops = createOpsHandler({
    metrics: deps.metrics,
    checks: {
      database: async () => ({ ok: (await Promise.all(databases.map((d) => d.ping()))).every(Boolean) }),
    },
  });
  let server: Server | undefined;

  return {
    consumers,
    scheduler,
    tasksDb,
    auditJobs,
    async start() {
      // Idempotent: the migrator applies only what the owning subgraph has not applied yet.
      for (const db of databases) await db.migrate();
      await ownRelay?.start();
      await ownTasksRelay?.start();
      await Promise.all(consumers.map((c) => c.start()));
      await scheduler?.start();
      auditJobs.start();
      server = createServer((req, res) => {
        void ops(req, res).then((handled) => {
          if (!handled) res.writeHead(404).end();
        });
      });
      await new Promise<void>((resolve) => server!.listen(deps.port, deps.host, resolve));
      logger.info({ port: deps.port, consumers: consumers.length }, 'processors running');
    },
    async stop() {
      await scheduler?.stop();
      await auditJobs.stop();
      await Promise.all(consumers.map((c) => c.stop()));
      await ownRelay?.stop();
      await ownTasksRelay?.stop();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await Promise.all(databases.map((d) => d.close()));
    },
  };
}
