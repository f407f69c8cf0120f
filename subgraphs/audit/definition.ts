import { readFileSync } from 'node:fs';
import type { SubgraphDefinition } from '../../platform/graphql/subgraph-service.ts';
import { auditEntities } from './entities.ts';
import { auditMigrations } from './migrations.ts';
import { createAuditResolvers, type AuditResolverDeps } from './resolvers.ts';

const typeDefs = readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8');

/** The audit subgraph; it signs with the configured key and exports to object storage. */
export function createAuditSubgraph(deps: AuditResolverDeps): SubgraphDefinition {
  return {
    name: 'audit',
    schema: 'audit',
    typeDefs,
    resolvers: createAuditResolvers(deps),
    entities: auditEntities,
    migrations: auditMigrations,
  };
}
