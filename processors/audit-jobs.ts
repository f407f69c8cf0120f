import type { Database } from '../platform/db/orm.ts';
import type { Logger } from '../platform/logger.ts';
import { signPeriodicDigest } from '../subgraphs/audit/digests.ts';
import { purgeBefore } from '../subgraphs/audit/purge.ts';
import { createAuditSigner, type AuditSigner } from '../subgraphs/audit/signing.ts';

export interface AuditJobsConfig {
  signer: AuditSigner;
  retentionDays: number;
  digestIntervalMs: number;
  purgeIntervalMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * The audit trail's housekeeping: a signed digest over what was appended since the last one,
 * and the retention purge. Several processor instances may run these: the chain head lock
 * serialises them, and each run only covers what the previous one left.
 */
export function createAuditJobs(deps: AuditJobsConfig & { db: Database; logger: Logger }) {
  const log = deps.logger.child({ component: 'audit-jobs' });
  const timers: NodeJS.Timeout[] = [];
  let running: Promise<unknown> = Promise.resolve();

  const digest = () => deps.db.fork().transactional((em) => signPeriodicDigest(em, deps.signer));
  const purge = () =>
    deps.db.fork().transactional((em) =>
      purgeBefore(em, deps.signer, {
        before: new Date(Date.now() - deps.retentionDays * DAY_MS),
        actorId: 'system',
      }),
    );
  /** One job at a time per process; a failure is logged and retried at the next tick. */
  const schedule = (name: string, job: () => Promise<unknown>, everyMs: number) => {
    const timer = setInterval(() => {
      running = running
        .then(job)
        .then((result) => log.debug({ job: name, result }, 'audit job ran'))
        .catch((error: unknown) =>
          log.error({ err: error, job: name }, 'audit job failed; retrying next tick'),
        );
    }, everyMs);
    timer.unref();
    timers.push(timer);
  };

  return {
    digest,
    purge,
    start() {
      schedule('digest', digest, deps.digestIntervalMs);
      schedule('purge', purge, deps.purgeIntervalMs);
    },
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await running;
    },
  };
}

/** The jobs' settings from a validated config (auditEnv). */
export function auditJobsConfig(
  config: {
    AUDIT_SIGNING_KEY: string;
    AUDIT_RETENTION_DAYS: number;
    AUDIT_DIGEST_INTERVAL_MS: number;
    AUDIT_PURGE_INTERVAL_MS: number;
  },
  signer: AuditSigner = createAuditSigner(config.AUDIT_SIGNING_KEY),
): AuditJobsConfig {
  return {
    signer,
    retentionDays: config.AUDIT_RETENTION_DAYS,
    digestIntervalMs: config.AUDIT_DIGEST_INTERVAL_MS,
    purgeIntervalMs: config.AUDIT_PURGE_INTERVAL_MS,
  };
}
