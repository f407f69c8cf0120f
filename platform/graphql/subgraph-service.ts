import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { Options } from '@mikro-orm/postgresql';
import { createDatabase, type Database, type EntityManager, type MigrationClass } from '../db/orm.ts';
import { createOutboxRelay, recordEvent, type OutboxRelay } from '../events/outbox.ts';
import type { EventTransport } from '../events/transport.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../http/metrics.ts';
import { createSubgraphServer, type SubgraphContext } from './subgraph-server.ts';
import type { ReadinessCheck } from '../http/health.ts';
import { forbidden, notFound, unauthenticated, type AppError } from '../errors.ts';
import { ADMIN_SCOPE, type Identity, type RequestOrigin } from '../auth/identity.ts';
import { newEvent, type EventActor, type FieldChanges } from '../events/envelope.ts';
import type { EventData, EventType } from '../../schema/events/contracts.ts';

/** Per-request context every subgraph resolver gets. */
export interface DomainContext extends SubgraphContext {
  em: EntityManager;
  /**
   * Adds an event to the unit of work, stamped with the caller, request and origin (what the
   * audit trail records). `userId` defaults to the caller.
   */
  emit<T extends EventType>(
    type: T,
    subject: string,
    data: EventData<T>,
    options?: { userId?: string; changes?: FieldChanges },
  ): void;
  /** Flushes the unit of work (state + outbox rows in one transaction) and wakes the relay. */
  commit(): Promise<void>;
  /**
   * Records (in its own transaction, so it survives the failed request) that the caller
   * reached for an entity that is not theirs, and returns the NOT_FOUND error to throw:
   * the client learns nothing, the audit trail gets a `denied` record.
   */
  denied(entityType: string, entityId: string, operation: string): Promise<AppError>;
  /** Records a denied access (own transaction) without choosing the error; see requireAdminAudited. */
  recordDenied(entityType: string, entityId: string, operation: string): Promise<void>;
}

function actorOf(identity: Identity | null, origin: RequestOrigin): EventActor {
  return {
    via: identity?.via ?? 'system',
    ...(identity?.apiKeyId ? { apiKeyId: identity.apiKeyId } : {}),
    ...(origin.ip ? { ip: origin.ip } : {}),
    ...(origin.userAgent ? { userAgent: origin.userAgent } : {}),
  };
}

/** What a domain contributes; the wiring (database, outbox relay, HTTP) is shared. */
export interface SubgraphDefinition {
  name: string;
  /** Postgres schema the domain owns. */
  schema: string;
  typeDefs: string;
  resolvers: GraphQLResolverMap<DomainContext>;
  entities: NonNullable<Options['entities']>;
  migrations: { name: string; class: MigrationClass }[];
}

export interface SubgraphServiceDeps {
  definition: SubgraphDefinition;
  databaseUrl: string;
  transport: EventTransport;
  logger: Logger;
  metrics: Metrics;
  host: string;
  port: number;
  signingSecret: string;
  /** Further readiness checks, e.g. circuit breakers of the dependencies this subgraph calls. */
  checks?: Record<string, ReadinessCheck>;
}

export interface SubgraphService {
  db: Database;
  relay: OutboxRelay;
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
}

export async function createSubgraphService(deps: SubgraphServiceDeps): Promise<SubgraphService> {
  const { definition } = deps;
  const logger = deps.logger.child({ subgraph: definition.name });
  const db = await createDatabase({
    url: deps.databaseUrl,
    schema: definition.schema,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
  });
  const relay = createOutboxRelay({
    db,
    schema: definition.schema,
    transport: deps.transport,
    logger,
    metrics: deps.metrics,
  });
  const server = createSubgraphServer<DomainContext>({
    name: definition.name,
    typeDefs: definition.typeDefs,
    resolvers: definition.resolvers,
    host: deps.host,
    port: deps.port,
    signingSecret: deps.signingSecret,
    logger,
    metrics: deps.metrics,
    checks: {
      database: async () => ({ ok: await db.ping() }),
      outbox: async () => ({ ok: true, ...(await relay.backlog()) }),
      ...deps.checks,
    },
    context: (base) => {
      const em = db.fork();
      const stamp = <T extends EventType>(
        target: EntityManager,
        type: T,
        subject: string,
        data: EventData<T>,
        options: { userId?: string; changes?: FieldChanges } = {},
      ) =>
        recordEvent(
          target,
          newEvent({
            type,
            source: definition.name,
            subject,
            userId: options.userId ?? requireUser(base).userId,
            data,
            actor: actorOf(base.identity, base.origin),
            requestId: base.requestId,
            ...(base.origin.traceId ? { traceId: base.origin.traceId } : {}),
            ...(options.changes ? { changes: options.changes } : {}),
          }),
        );
      const recordDenied = async (entityType: string, entityId: string, operation: string) => {
        const own = db.fork();
        stamp(own, 'security.access-denied', entityId, { entityType, entityId, operation });
        await own.flush();
        relay.wake();
        base.logger.warn({ entityType, entityId, operation }, 'access denied');
      };
      return {
        ...base,
        em,
        recordDenied,
        emit: (type, subject, data, options) => stamp(em, type, subject, data, options),
        async commit() {
          await em.flush();
          relay.wake();
        },
        async denied(entityType, entityId, operation) {
          await recordDenied(entityType, entityId, operation);
          return notFound(entityType.charAt(0).toUpperCase() + entityType.slice(1));
        },
      };
    },
  });
  return {
    db,
    relay,
    async start() {
      await db.migrate();
      await relay.start();
      return server.start();
    },
    async stop() {
      await server.stop();
      await relay.stop();
      await db.close();
    },
  };
}

export function requireUser(ctx: SubgraphContext): Identity {
  if (!ctx.identity) throw unauthenticated();
  return ctx.identity;
}

/** requireAdmin for a domain operation: a caller without the admin scope is also audited as denied. */
export async function requireAdminAudited(ctx: DomainContext, operation: string): Promise<Identity> {
  const identity = requireUser(ctx);
  if (!identity.scopes.includes(ADMIN_SCOPE)) {
    await ctx.recordDenied('admin-operation', operation, operation);
    throw forbidden('The admin scope is required');
  }
  return identity;
}

export function requireAdmin(ctx: SubgraphContext): Identity {
  const identity = requireUser(ctx);
  if (!identity.scopes.includes(ADMIN_SCOPE)) throw forbidden('The admin scope is required');
  return identity;
}
