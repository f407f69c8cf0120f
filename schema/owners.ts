import type { Options } from '@mikro-orm/postgresql';
import type { MigrationClass } from '../platform/db/orm.ts';
import { eventLogMigrations } from '../platform/events/postgres-log/migrations.ts';
import { routerEntities, routerMigrations } from '../router/api-keys.ts';
import { auditEntities } from '../subgraphs/audit/entities.ts';
import { auditMigrations } from '../subgraphs/audit/migrations.ts';
import { sessionsSubgraph } from '../subgraphs/sessions/definition.ts';
import { tasksSubgraph } from '../subgraphs/tasks/definition.ts';

export interface DatabaseOwner {
  schema: string;
  entities: NonNullable<Options['entities']>;
  migrations: { name: string; class: MigrationClass }[];
}

/** Every Postgres schema and the migrations that build it, in the order they are applied. */
export const databaseOwners: DatabaseOwner[] = [
  ...[sessionsSubgraph, tasksSubgraph].map(({ schema, entities, migrations }) => ({
    schema,
    entities,
    migrations,
  })),
  { schema: 'audit', entities: auditEntities, migrations: auditMigrations },
  { schema: 'router', entities: routerEntities, migrations: routerMigrations },
  { schema: 'eventlog', entities: [], migrations: eventLogMigrations },
];
