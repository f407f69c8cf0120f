import { randomUUID } from 'node:crypto';
import { defineEntity, p } from '@mikro-orm/postgresql';
import { Migration } from '@mikro-orm/migrations';
import type { Database } from '../platform/db/orm.ts';
import { OutboxEvent, outboxMigrationSql } from '../platform/events/outbox.ts';
import { hashApiKey, newApiKeySecret, type ApiKeyStore } from '../platform/auth/authenticate.ts';

/** API keys are stored as SHA-256 hashes; the secret is shown once, at creation. */
export const ApiKeySchema = defineEntity({
  name: 'ApiKey',
  tableName: 'api_keys',
  properties: {
    id: p.uuid().primary(),
    userId: p.string(),
    name: p.string(),
    keyHash: p.string().unique(),
    scopes: p.array(),
    createdAt: p.datetime().onCreate(() => new Date()),
    revokedAt: p.datetime().nullable(),
  },
});
export class ApiKey extends ApiKeySchema.class {}
ApiKeySchema.setClass(ApiKey);

export class RouterInit extends Migration {
  override up(): void {
    this.addSql(`create table router.api_keys (
      id uuid primary key,
      user_id text not null,
      name text not null,
      key_hash text not null unique,
      scopes text[] not null default '{}',
      created_at timestamptz not null,
      revoked_at timestamptz)`);
  }
}
/** The router's own outbox: security events (authentication failures) it records for the audit trail. */
export class RouterOutbox extends Migration {
  override up(): void {
    for (const sql of outboxMigrationSql('router')) this.addSql(sql);
  }
}

export const routerMigrations = [
  { name: '0001_router_init', class: RouterInit },
  { name: '0002_router_outbox', class: RouterOutbox },
];
export const routerEntities = [ApiKey, OutboxEvent];

export function createApiKeyStore(db: Database): ApiKeyStore & {
  create(userId: string, name: string, scopes?: string[]): Promise<{ id: string; secret: string }>;
  revoke(id: string): Promise<boolean>;
} {
  return {
    async findByHash(hash) {
      const key = await db.fork().findOne(ApiKey, { keyHash: hash, revokedAt: null });
      return key ? { id: key.id, userId: key.userId, scopes: key.scopes } : null;
    },
    async create(userId, name, scopes = []) {
      const secret = newApiKeySecret();
      const em = db.fork();
      const key = em.create(ApiKey, {
        id: randomUUID(),
        userId,
        name,
        keyHash: hashApiKey(secret),
        scopes,
        createdAt: new Date(),
        revokedAt: null,
      });
      await em.flush();
      return { id: key.id, secret };
    },
    async revoke(id) {
      const em = db.fork();
      const key = await em.findOne(ApiKey, { id });
      if (!key) return false;
      key.revokedAt = new Date();
      await em.flush();
      return true;
    },
  };
}
