import type { Readable } from 'node:stream';
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
    /** Size and stored content type; null when the object does not exist. */
    head: (key: string): Promise<{ size: number; contentType: string | undefined } | null> =>
      guarded(async () => {
        try {
          const stat = await client.statObject(bucket, key);
          const type = (stat.metaData as Record<string, unknown>)['content-type'];
          return { size: stat.size, contentType: typeof type === 'string' ? type : undefined };
        } catch (error) {
          if (missing(error)) return null;
          throw error;
        }
      }),
    /** The object as a stream (large objects are never buffered whole); only opening it is guarded. */
    getStream: (key: string): Promise<Readable> => guarded(() => client.getObject(bucket, key)),
    /**
     * A presigned POST form for one object whose size and type S3/MinIO check on upload (a
     * presigned PUT cannot bound the size). Send the fields, then the file as `file`.
     */
    presignedPostForm: (
      key: string,
      expirySeconds: number,
      conditions: { contentType: string; size: number },
    ) =>
      guarded(async () => {
        const policy = client.newPostPolicy();
        policy.setBucket(bucket);
        policy.setKey(key);
        policy.setExpires(new Date(Date.now() + expirySeconds * 1000));
        policy.setContentType(conditions.contentType);
        policy.setContentLengthRange(conditions.size, conditions.size);
        const { postURL, formData } = await client.presignedPostPolicy(policy);
        return {
          url: postURL,
          fields: Object.entries(formData).map(([name, value]) => ({ name, value: String(value) })),
        };
      }),
    /** A download URL whose response carries the given type and an attachment disposition. */
    presignedDownload: (
      key: string,
      expirySeconds: number,
      headers: { contentType: string; filename: string },
    ) =>
      client.presignedGetObject(bucket, key, expirySeconds, {
        'response-content-type': headers.contentType,
        'response-content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(headers.filename)}`,
      }),
    /**
     * Uploads a body of unknown length with bounded memory: parts of PART_SIZE through a
     * multipart upload (one plain PUT when it all fits in one part). The multipart calls are
     * made directly because minio's own stream upload first lists incomplete uploads, which
     * not every S3-compatible server implements.
     */
    putStream: (
      key: string,
      body: AsyncIterable<Buffer | string>,
      contentType = 'application/octet-stream',
    ) =>
      guarded(async () => {
        const headers = { 'Content-Type': contentType };
        let pending: Buffer[] = [];
        let pendingBytes = 0;
        let uploadId: string | undefined;
        const etags: { part: number; etag: string }[] = [];
        const flushPart = async () => {
          uploadId ??= await client.initiateNewMultipartUpload(bucket, key, headers);
          const part = etags.length + 1;
          const { etag } = await client.uploadPart(
            { bucketName: bucket, objectName: key, uploadID: uploadId, partNumber: part, headers: {} },
            Buffer.concat(pending),
          );
          etags.push({ part, etag });
          pending = [];
          pendingBytes = 0;
        };
        try {
          for await (const chunk of body) {
            const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
            pending.push(bytes);
            pendingBytes += bytes.length;
            if (pendingBytes >= PART_SIZE) await flushPart();
          }
          if (uploadId === undefined) {
            await client.putObject(bucket, key, Buffer.concat(pending), pendingBytes, headers);
            return { bytes: pendingBytes };
          }
          if (pendingBytes > 0) await flushPart();
          await client.completeMultipartUpload(bucket, key, uploadId, etags);
          return { parts: etags.length };
        } catch (error) {
          if (uploadId) await client.abortMultipartUpload(bucket, key, uploadId).catch(() => undefined);
          throw error;
        }
      }),
  };
}

/** S3's minimum part size is 5 MiB; 8 MiB keeps the part count low for large exports. */
export const PART_SIZE = 8 * 1024 * 1024;
export type ObjectStore = ReturnType<typeof createObjectStore>;
