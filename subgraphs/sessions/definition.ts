import { readFileSync } from 'node:fs';
import type { SubgraphDefinition } from '../../platform/graphql/subgraph-service.ts';
import { sessionsEntities } from './entities.ts';
import { sessionsMigrations } from './migrations.ts';
import { sessionsResolvers } from './resolvers.ts';

export const sessionsSubgraph: SubgraphDefinition = {
  name: 'sessions',
  schema: 'sessions',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  resolvers: sessionsResolvers,
  entities: sessionsEntities,
  migrations: sessionsMigrations,
};
