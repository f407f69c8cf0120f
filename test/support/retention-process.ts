/**
 * Retention in a process of its own, so a test can SIGKILL it between writing a batch's archive
 * object and deleting the batch's rows: it prints `uploaded <seq> <key>` there and waits forever.
 * Env: DATABASE_URL, S3_BUCKET, STOP_AT_BATCH, LEASE_MS, RETENTION_BATCH_SIZE.
 */
import { createDatabase } from '../../platform/db/orm.ts';
import { createLogger } from '../../platform/logger.ts';
import { createObjectStore } from '../../platform/objects.ts';
import { sessionsSubgraph } from '../../subgraphs/sessions/definition.ts';
import { createRetention } from '../../subgraphs/sessions/retention.ts';
import { testConfig } from './stack.ts';

const config = testConfig({ S3_BUCKET: process.env.S3_BUCKET });
const logger = createLogger({ service: 'retention-process', level: 'error' });
const { schema, entities, migrations } = sessionsSubgraph;
const db = await createDatabase({
  url: process.env.DATABASE_URL!,
  schema,
  entities,
  migrations,
  logger,
  poolSize: 2,
});
const objects = createObjectStore({
  endpoint: config.S3_ENDPOINT!,
  accessKey: config.S3_ACCESS_KEY,
  secretKey: config.S3_SECRET_KEY,
  bucket: config.S3_BUCKET,
  region: config.S3_REGION,
});
const stopAt = Number(process.env.STOP_AT_BATCH ?? 1);
await createRetention({
  db,
  objects,
  logger,
  limits: { retentionMaxAgeDays: 90, retentionBatchSize: Number(process.env.RETENTION_BATCH_SIZE ?? 10) },
  workerId: 'doomed-worker',
  leaseMs: Number(process.env.LEASE_MS ?? 60_000),
  afterUpload: async (batch) => {
    if (batch.seq !== stopAt) return;
    process.stdout.write(`uploaded ${batch.seq} ${batch.objectKey}\n`);
    await new Promise(() => undefined);
  },
}).run();
