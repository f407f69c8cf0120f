import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from '@jest/globals';
import { createObjectStore, type ObjectStore } from '../../platform/objects.ts';
import { createCircuitBreaker } from '../../platform/resilience/circuit-breaker.ts';
import { testConfig } from '../support/stack.ts';

describe('the object store on a real S3-compatible server', () => {
  let store: ObjectStore;

  beforeAll(async () => {
    const config = testConfig();
    store = createObjectStore({
      endpoint: config.S3_ENDPOINT!,
      accessKey: config.S3_ACCESS_KEY,
      secretKey: config.S3_SECRET_KEY,
      bucket: config.S3_BUCKET,
      region: config.S3_REGION,
    });
    await store.ensureBucket();
  });

  it('accepts an upload to a presigned URL and serves it back through a presigned download URL', async () => {
    const body = Buffer.from('retrieved context for the answer');
    const upload = await fetch(await store.presignedPut('attachments/a.txt'), { method: 'PUT', body });
    expect(upload.status).toBe(200);
    expect(await store.stat('attachments/a.txt')).toEqual({ size: body.length });
    const download = await fetch(await store.presignedGet('attachments/a.txt'));
    const fetched = Buffer.from(await download.arrayBuffer());
    expect(createHash('sha256').update(fetched).digest('hex')).toBe(
      createHash('sha256').update(body).digest('hex'),
    );
  });

  it('streams a body of unknown length in parts and stores it byte for byte', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    async function* body() {
      for (let i = 0; i < 17; i += 1) yield Buffer.concat([chunk, Buffer.from(String(i))]);
    }
    const expected = createHash('sha256');
    for await (const part of body()) expected.update(part);
    expect(await store.putStream('exports/big.ndjson', body())).toEqual({ parts: 3 });
    const stored = await store.get('exports/big.ndjson');
    expect(stored.length).toBe(17 * (1024 * 1024) + 24);
    expect(createHash('sha256').update(stored).digest('hex')).toBe(expected.digest('hex'));
  });

  it('stores a small streamed body with one plain upload', async () => {
    async function* body() {
      yield 'a\n';
      yield 'b\n';
    }
    expect(await store.putStream('exports/small.ndjson', body())).toEqual({ bytes: 4 });
    expect((await store.get('exports/small.ndjson')).toString()).toBe('a\nb\n');
  });

  it('reports a missing object as absent rather than as a failure', async () => {
    expect(await store.stat('attachments/never-uploaded')).toBeNull();
    expect(store.breaker.state()).toBe('closed');
  });

  it('opens the breaker after five failures of an unreachable server and then fails fast', async () => {
    const dead = createObjectStore(
      { endpoint: 'http://127.0.0.1:9', accessKey: 'k', secretKey: 's', bucket: 'nope', region: 'us-east-1' },
      createCircuitBreaker({ name: 's3', callTimeoutMs: 2000 }),
    );
    for (let i = 0; i < 5; i += 1) await expect(dead.stat('x')).rejects.toThrow();
    const started = Date.now();
    await expect(dead.stat('x')).rejects.toMatchObject({ extensions: { code: 'SERVICE_UNAVAILABLE' } });
    expect(Date.now() - started).toBeLessThan(50);
  });
});
