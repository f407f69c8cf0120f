import { auditEnv, loadConfig, s3Env } from '../../platform/config.ts';
import { runSubgraph, subgraphEnv } from '../../platform/graphql/run-subgraph.ts';
import { createObjectStore } from '../../platform/objects.ts';
import { createCircuitBreaker } from '../../platform/resilience/circuit-breaker.ts';
import { createAuditSubgraph } from './definition.ts';
import { createAuditSigner } from './signing.ts';

runSubgraph(
  'audit',
  async (config, metrics) => {
    if (!config.S3_ENDPOINT) throw new Error('S3_ENDPOINT is required: audit exports go to object storage');
    const objects = createObjectStore(
      {
        endpoint: config.S3_ENDPOINT,
        accessKey: config.S3_ACCESS_KEY,
        secretKey: config.S3_SECRET_KEY,
        bucket: config.S3_BUCKET,
        region: config.S3_REGION,
      },
      createCircuitBreaker({ name: 's3', metrics }),
    );
    await objects.ensureBucket();
    return createAuditSubgraph({
      signer: createAuditSigner(config.AUDIT_SIGNING_KEY),
      objects,
      retentionDays: config.AUDIT_RETENTION_DAYS,
    });
  },
  (config) => config.AUDIT_PORT,
  () => loadConfig({ ...subgraphEnv, ...s3Env, ...auditEnv }),
);
