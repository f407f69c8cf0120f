import { MikroORM, type EntityManager, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import type { Migration } from '@mikro-orm/migrations';
import type { Logger } from '../logger.ts';

export type { EntityManager };
export type MigrationClass = new (...args: ConstructorParameters<typeof Migration>) => Migration;

export interface DatabaseOptions {
  url: string;
  /** The Postgres schema this owner writes; its tables and migration history live there. */
  schema: string;
  entities: NonNullable<Options['entities']>;
  migrations: { name: string; class: MigrationClass }[];
  logger: Logger;
  poolSize?: number;
}

export interface Database {
  orm: MikroORM;
  schema: string;
  url: string;
  /** A fresh EntityManager for one unit of work (one request, one message). */
  fork(): EntityManager;
  migrate(): Promise<string[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export async function createDatabase(options: DatabaseOptions): Promise<Database> {
  const orm = await MikroORM.init({
    clientUrl: options.url,
    schema: options.schema,
    entities: options.entities,
    extensions: [Migrator],
    pool: { min: 0, max: options.poolSize ?? 10 },
    migrations: {
      migrationsList: options.migrations,
      schema: options.schema,
      tableName: 'mikro_orm_migrations',
      silent: true,
      transactional: true,
      allOrNothing: true,
      // Migrations are hand-written and checked in; no schema snapshot files on disk.
      snapshot: false,
    },
    discovery: { warnWhenNoEntities: false },
    debug: false,
    allowGlobalContext: false,
    forceUtcTimezone: true,
  });
  const connection = orm.em.getConnection();

  return {
    orm,
    schema: options.schema,
    url: options.url,
    fork: () => orm.em.fork(),
    async migrate() {
      // The tracking table lives in the owner's schema, so the schema must exist first.
      await connection.execute(`create schema if not exists "${options.schema}"`);
      const applied = await orm.migrator.up();
      const names = applied.map((m) => m.name);
      if (names.length > 0)
        options.logger.info({ schema: options.schema, migrations: names }, 'migrations applied');
      return names;
    },
    async ping() {
      try {
        await connection.execute('select 1');
        return true;
      } catch {
        return false;
      }
    },
    close: () => orm.close(true),
  };
}
