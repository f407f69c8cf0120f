import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { Options } from '@mikro-orm/postgresql';
import { createDatabase, type Database, type EntityManager, type MigrationClass } from '../db/orm.ts';
import { createOutboxRelay, type OutboxRelay } from '../events/outbox.ts';
import type { EventTransport } from '../events/transport.ts';
import type { Logger } from '../logger.ts';
import type { Metrics } from '../http/metrics.ts';
import { createSubgraphServer, type SubgraphContext } from './subgraph-server.ts';
import type { ReadinessCheck } from '../http/health.ts';
import { forbidden, unauthenticated } from '../errors.ts';
import { ADMIN_SCOPE, type Identity } from '../auth/identity.ts';

/** Per-request context every subgraph resolver gets. */
export interface DomainContext extends SubgraphContext {
  em: EntityManager;
  /** Flushes the unit of work (state + outbox rows in one transaction) and wakes the relay. */
  commit(): Promise<void>;
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
      return {
        ...base,
        em,
        async commit() {
          await em.flush();
          relay.wake();
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

export function requireAdmin(ctx: SubgraphContext): Identity {
  const identity = requireUser(ctx);
  if (!identity.scopes.includes(ADMIN_SCOPE)) throw forbidden('The admin scope is required');
  return identity;
}
