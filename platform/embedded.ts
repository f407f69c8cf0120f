import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import S3rver from 's3rver';
import type { Logger } from './logger.ts';

/**
 * Stand-ins for a first look without any server installed: Postgres (PGlite, on disk)
 * served over the wire protocol, and an S3-compatible object store on disk.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: Logger) {
  mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 100 });
  await server.start();
  const address = (server as unknown as { port: number }).port;
  logger.info({ dataDir, port: address }, 'embedded Postgres (PGlite) ready');
  return {
    url: `postgres://postgres@127.0.0.1:${address}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

export interface ObjectStoreServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

export async function startLocalObjectStore(
  dataDir: string,
  logger: Logger,
  port = 0,
): Promise<ObjectStoreServer> {
  const directory = join(dataDir);
  mkdirSync(directory, { recursive: true });
  const server = new S3rver({
    port,
    address: '127.0.0.1',
    directory,
    silent: true,
    allowMismatchedSignatures: false,
  });
  const info = await server.run();
  logger.info({ directory, port: info.port }, 'local object store (S3-compatible) ready');
  return {
    endpoint: `http://127.0.0.1:${info.port}`,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    stop: () => server.close(),
  };
}
