import { readFileSync } from 'node:fs';
import type { SubgraphDefinition } from '../../platform/graphql/subgraph-service.ts';
import { tasksEntities } from './entities.ts';
import { tasksMigrations } from './migrations.ts';
import { tasksResolvers } from './resolvers.ts';

export const tasksSubgraph: SubgraphDefinition = {
  name: 'tasks',
  schema: 'tasks',
  typeDefs: readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'),
  resolvers: tasksResolvers,
  entities: tasksEntities,
  migrations: tasksMigrations,
};
