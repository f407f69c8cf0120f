import { Client } from 'minio';
import { createCircuitBreaker, type CircuitBreaker } from './resilience/circuit-breaker.ts';

export interface ObjectStoreConfig {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/**
 * S3/MinIO access for attachments, exports and archives, through the `minio` client.
 * Every call goes through a circuit breaker, so an S3 outage fails fast with
 * SERVICE_UNAVAILABLE instead of stalling requests.
 */
export function createObjectStore(
  config: ObjectStoreConfig,
  breaker: CircuitBreaker = createCircuitBreaker({ name: 's3' }),
) {
  const url = new URL(config.endpoint);
  const client = new Client({
    endPoint: url.hostname,
    port: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
    useSSL: url.protocol === 'https:',
    accessKey: config.accessKey,
    secretKey: config.secretKey,
    region: config.region,
    pathStyle: true,
  });
  const bucket = config.bucket;
  const guarded = <T>(fn: () => Promise<T>) => breaker.call(fn);
  const missing = (error: unknown) =>
    ['NotFound', 'NoSuchKey'].includes((error as { code?: string }).code ?? '');
  return {
    bucket,
    breaker,
    ensureBucket: () =>
      guarded(async () => {
        if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket, config.region);
      }),
    presignedPut: (key: string, expirySeconds = 900) => client.presignedPutObject(bucket, key, expirySeconds),
    presignedGet: (key: string, expirySeconds = 900) => client.presignedGetObject(bucket, key, expirySeconds),
    stat: (key: string): Promise<{ size: number } | null> =>
      guarded(async () => {
        try {
          return { size: (await client.statObject(bucket, key)).size };
        } catch (error) {
          // A missing object is an answer, not a failure of the dependency.
          if (missing(error)) return null;
          throw error;
        }
      }),
    put: (key: string, body: Buffer | string, contentType = 'application/octet-stream') =>
      guarded(() => client.putObject(bucket, key, body, undefined, { 'Content-Type': contentType })),
    get: (key: string): Promise<Buffer> =>
      guarded(async () => {
        const chunks: Buffer[] = [];
        for await (const chunk of await client.getObject(bucket, key)) chunks.push(chunk as Buffer);
        return Buffer.concat(chunks);
      }),
    remove: (key: string) => guarded(() => client.removeObject(bucket, key)),
  };
}
export type ObjectStore = ReturnType<typeof createObjectStore>;
