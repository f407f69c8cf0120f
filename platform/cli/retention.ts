import type { z } from 'zod';
import type { s3Env, sessionsStorageEnv } from '../config.ts';
import { createDatabase } from '../db/orm.ts';
import type { Logger } from '../logger.ts';
import { createObjectStore } from '../objects.ts';
import { sessionsSubgraph } from '../../subgraphs/sessions/definition.ts';
import { createRetention, type RetentionResult } from '../../subgraphs/sessions/retention.ts';
import { storageLimitsFrom } from '../../subgraphs/sessions/storage-limits.ts';

type Config = z.infer<z.ZodObject<typeof s3Env & typeof sessionsStorageEnv>>;

/**
 * `npm run parley -- retention run`: one retention run to the end (or the resumption of a run that
 * stopped). The events it records are published by the sessions service's outbox relay.
 */
export async function runRetentionCommand(
  config: Config,
  databaseUrl: string,
  logger: Logger,
): Promise<RetentionResult> {
  if (!config.S3_ENDPOINT) throw new Error('S3_ENDPOINT must be set');
  const objects = createObjectStore({
    endpoint: config.S3_ENDPOINT,
    accessKey: config.S3_ACCESS_KEY,
    secretKey: config.S3_SECRET_KEY,
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
  });
  await objects.ensureBucket();
  const { schema, entities, migrations } = sessionsSubgraph;
  const db = await createDatabase({ url: databaseUrl, schema, entities, migrations, logger, poolSize: 2 });
  try {
    return await createRetention({ db, objects, logger, limits: storageLimitsFrom(config) }).run();
  } finally {
    await db.close();
  }
}
