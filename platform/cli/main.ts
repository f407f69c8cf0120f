import { parseArgs } from 'node:util';
import { baseEnv, databaseEnv, kafkaEnv, loadConfig } from '../config.ts';
import { createDatabase } from '../db/orm.ts';
import { createLogger } from '../logger.ts';
import { createKafkaTransport } from '../events/kafka-transport.ts';
import { kafkaOptions } from '../events/create-transport.ts';
import { allTopics } from '../../schema/events/topics.ts';
import { databaseOwners } from '../../schema/owners.ts';
import { createApiKeyStore, routerEntities, routerMigrations } from '../../router/api-keys.ts';

/**
 * `npm run parley -- <command>`: operations on a deployment.
 *   migrate                                  apply every schema's migrations
 *   topics create | verify                   Kafka topics (declared in schema/events/topics.ts)
 *   api-key create --user U [--name N] [--scope S ...]
 *   api-key revoke <id>
 */
const usage = `usage: npm run parley -- <migrate | topics create|verify | api-key create --user U [--name N] [--scope S] | api-key revoke ID>`;

async function main(argv: string[]) {
  const config = loadConfig({ ...baseEnv, ...databaseEnv, ...kafkaEnv });
  const logger = createLogger({ service: 'parley-cli', level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL });
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { user: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string', multiple: true } },
  });
  const [command, sub, arg] = positionals;
  const databaseUrl = () => {
    if (!config.DATABASE_URL) throw new Error('DATABASE_URL must be set');
    return config.DATABASE_URL;
  };

  if (command === 'migrate') {
    for (const owner of databaseOwners) {
      const db = await createDatabase({ url: databaseUrl(), logger, poolSize: 1, ...owner });
      const applied = await db.migrate();
      console.log(`${owner.schema}: ${applied.length ? applied.join(', ') : 'up to date'}`);
      await db.close();
    }
    return;
  }
  if (command === 'topics' && (sub === 'create' || sub === 'verify')) {
    const transport = createKafkaTransport(kafkaOptions(config, logger));
    await transport.ensureTopics(allTopics, sub);
    console.log(`topics ${sub === 'create' ? 'created or present' : 'verified'}: ${allTopics.map((t) => t.name).join(', ')}`);
    await transport.stop();
    return;
  }
  if (command === 'api-key' && (sub === 'create' || sub === 'revoke')) {
    const db = await createDatabase({ url: databaseUrl(), schema: 'router', entities: routerEntities, migrations: routerMigrations, logger, poolSize: 1 });
    try {
      const store = createApiKeyStore(db);
      if (sub === 'create') {
        if (!values.user) throw new Error('--user is required');
        const key = await store.create(values.user, values.name ?? 'api key', values.scope ?? []);
        console.log(`API key ${key.id} for ${values.user} (shown once, store it now):\n${key.secret}`);
      } else {
        if (!arg) throw new Error('the key id is required');
        console.log((await store.revoke(arg)) ? `revoked ${arg}` : `no key ${arg}`);
      }
    } finally {
      await db.close();
    }
    return;
  }
  throw new Error(usage);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
});
