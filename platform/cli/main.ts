import { parseArgs } from 'node:util';
import { baseEnv, databaseEnv, kafkaEnv, loadConfig, s3Env, sessionsStorageEnv } from '../config.ts';
import { runRetentionCommand } from './retention.ts';
import { createDatabase } from '../db/orm.ts';
import { createLogger } from '../logger.ts';
import { createKafkaTransport } from '../events/kafka-transport.ts';
import { createTransport, kafkaOptions } from '../events/create-transport.ts';

const safeJson = (text: string): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
};
import { allTopics, domainTopics } from '../../schema/events/topics.ts';
import { createDlqTools } from '../events/dlq.ts';
import { databaseOwners } from '../../schema/owners.ts';
import { createApiKeyStore, routerEntities, routerMigrations } from '../../router/api-keys.ts';

/**
 * `npm run parley -- <command>`: operations on a deployment.
 *   migrate                                  apply every schema's migrations
 *   topics create | verify                   Kafka topics (declared in schema/events/topics.ts)
 *   api-key create --user U [--name N] [--scope S ...]
 *   api-key revoke <id>
 *   dlq list <topic> [--limit N] | dlq show <topic> <partition:offset>
 *   dlq replay <topic> (--position P ... | --type T | --consumer C | --all) | dlq purge <topic>
 *   retention run                            archive old messages to object storage (resumes a stopped run)
 */
const usage = `usage: npm run parley -- <command>
  migrate
  topics create|verify
  api-key create --user U [--name N] [--scope S]... | api-key revoke ID
  dlq list TOPIC [--limit N] | dlq show TOPIC PARTITION:OFFSET
  dlq replay TOPIC (--position P... | --type T | --consumer C | --all) | dlq purge TOPIC
  retention run`;

function progressBar(done: number, total: number) {
  const width = 30;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`);
  if (done >= total) process.stderr.write('\n');
}

async function main(argv: string[]) {
  const config = loadConfig({ ...baseEnv, ...databaseEnv, ...kafkaEnv });
  const logger = createLogger({
    service: 'parley-cli',
    level: config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL,
  });
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      user: { type: 'string' },
      name: { type: 'string' },
      scope: { type: 'string', multiple: true },
      limit: { type: 'string' },
      position: { type: 'string', multiple: true },
      type: { type: 'string' },
      consumer: { type: 'string' },
      all: { type: 'boolean' },
    },
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
    console.log(
      `topics ${sub === 'create' ? 'created or present' : 'verified'}: ${allTopics.map((t) => t.name).join(', ')}`,
    );
    await transport.stop();
    return;
  }
  if (command === 'dlq' && sub && arg && ['list', 'show', 'replay', 'purge'].includes(sub)) {
    const topic = arg;
    if (!domainTopics.some((t) => t.name === topic))
      throw new Error(`unknown topic "${topic}" (one of ${domainTopics.map((t) => t.name).join(', ')})`);
    const transport = await createTransport(config, {
      databaseUrl: config.KAFKA_BROKERS ? '' : databaseUrl(),
      logger,
    });
    try {
      const dlq = createDlqTools(transport);
      if (sub === 'list') {
        const letters = await dlq.list(topic, Number(values.limit ?? 100));
        for (const d of letters)
          console.log(
            `${d.position}\t${d.type ?? '-'}\t${d.consumer ?? '-'}\tattempts=${d.attempts}\t${d.lastFailure ?? ''}\t${d.errorClass}: ${d.error}`,
          );
        console.log(`${letters.length} dead letter(s) in dlq.${topic}`);
      } else if (sub === 'show') {
        const position = positionals[3];
        const letter = position ? await dlq.show(topic, position) : undefined;
        if (!letter) throw new Error(`no dead letter at ${position ?? '(missing position)'} in dlq.${topic}`);
        console.log(JSON.stringify({ ...letter, value: safeJson(letter.value) }, null, 2));
      } else if (sub === 'replay') {
        if (!values.all && !values.position && !values.type && !values.consumer)
          throw new Error('say what to replay: --position, --type, --consumer or --all');
        const count = await dlq.replay(
          topic,
          { positions: values.position, type: values.type, consumer: values.consumer },
          progressBar,
        );
        console.log(`replayed ${count} message(s) to ${topic}`);
      } else {
        console.log(`purged ${await dlq.purge(topic)} message(s) from dlq.${topic}`);
      }
    } finally {
      await transport.stop();
    }
    return;
  }
  if (command === 'retention' && sub === 'run') {
    // S3 settings only for this command: the others must not need (production) S3 secrets.
    const storage = loadConfig({ ...s3Env, ...sessionsStorageEnv });
    console.log(JSON.stringify(await runRetentionCommand(storage, databaseUrl(), logger), null, 2));
    return;
  }
  if (command === 'api-key' && (sub === 'create' || sub === 'revoke')) {
    const db = await createDatabase({
      url: databaseUrl(),
      schema: 'router',
      entities: routerEntities,
      migrations: routerMigrations,
      logger,
      poolSize: 1,
    });
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
