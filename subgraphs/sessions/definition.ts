import { readFileSync } from 'node:fs';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { AppError, ErrorCode } from '../../platform/errors.ts';
import type { DomainContext, SubgraphDefinition } from '../../platform/graphql/subgraph-service.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { sessionsEntities } from './entities.ts';
import { sessionsMigrations } from './migrations.ts';
import { sessionsResolvers } from './resolvers.ts';
import { storageEntities } from './storage-entities.ts';
import type { StorageLimits } from './storage-limits.ts';
import { mergeResolvers, storageResolvers } from './storage-resolvers.ts';

const sdl = (file: string) => readFileSync(new URL(file, import.meta.url), 'utf8');

/** What the sessions subgraph needs from outside: object storage for attachments, exports, archives. */
export interface SessionsDeps {
  objects: ObjectStore;
  limits: StorageLimits;
}

/** Without object storage the storage fields answer SERVICE_UNAVAILABLE (the SDL stays the same). */
const unavailable = () => {
  throw new AppError(ErrorCode.SERVICE_UNAVAILABLE, 'Object storage is not configured', { dependency: 's3' });
};
const withoutStorage: GraphQLResolverMap<DomainContext> = {
  Query: { attachment: unavailable },
  Mutation: Object.fromEntries(
    [
      'requestAttachmentUpload',
      'confirmAttachmentUpload',
      'removeAttachment',
      'exportSessions',
      'importSessions',
    ].map((name) => [name, unavailable]),
  ),
  Message: { attachments: () => [] },
};

export function createSessionsDefinition(deps?: SessionsDeps): SubgraphDefinition {
  return {
    name: 'sessions',
    schema: 'sessions',
    typeDefs: `${sdl('./schema.graphql')}\n${sdl('./storage.graphql')}`,
    resolvers: mergeResolvers(sessionsResolvers, deps ? storageResolvers(deps) : withoutStorage),
    entities: [...sessionsEntities, ...storageEntities],
    migrations: sessionsMigrations,
  };
}

/** The definition without object storage (schema owners, tooling, a subgraph run without S3). */
export const sessionsSubgraph: SubgraphDefinition = createSessionsDefinition();
