import { Client } from 'minio';

export interface ObjectStoreConfig {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/** S3/MinIO access for attachments, exports and archives, through the `minio` client. */
export function createObjectStore(config: ObjectStoreConfig) {
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
  return {
    bucket,
    async ensureBucket() {
      if (!(await client.bucketExists(bucket))) await client.makeBucket(bucket, config.region);
    },
    presignedPut: (key: string, expirySeconds = 900) => client.presignedPutObject(bucket, key, expirySeconds),
    presignedGet: (key: string, expirySeconds = 900) => client.presignedGetObject(bucket, key, expirySeconds),
    async stat(key: string): Promise<{ size: number } | null> {
      try {
        const s = await client.statObject(bucket, key);
        return { size: s.size };
      } catch (error) {
        if ((error as { code?: string }).code === 'NotFound' || (error as { code?: string }).code === 'NoSuchKey') return null;
        throw error;
      }
    },
    put: (key: string, body: Buffer | string, contentType = 'application/octet-stream') =>
      client.putObject(bucket, key, body, undefined, { 'Content-Type': contentType }),
    get: async (key: string): Promise<Buffer> => {
      const stream = await client.getObject(bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    },
    remove: (key: string) => client.removeObject(bucket, key),
    async ping(): Promise<boolean> {
      try {
        await client.bucketExists(bucket);
        return true;
      } catch {
        return false;
      }
    },
  };
}
export type ObjectStore = ReturnType<typeof createObjectStore>;
