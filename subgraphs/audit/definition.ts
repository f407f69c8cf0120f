import { readFileSync } from 'node:fs';
import type { SubgraphDefinition } from '../../platform/graphql/subgraph-service.ts';
import { auditEntities } from './entities.ts';
import { auditMigrations } from './migrations.ts';
import { auditResolvers } from './resolvers.ts';

export const auditSubgraph: SubgraphDefinition = {
  name: 'audit',
  schema: 'audit',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  resolvers: auditResolvers,
  entities: auditEntities,
  migrations: auditMigrations,
};
