import type { GraphQLResolverMap } from '@apollo/subgraph';
import type { DomainContext } from '../../platform/graphql/subgraph-service.ts';
import type { ObjectStore } from '../../platform/objects.ts';
import { attachmentResolvers } from './attachments.ts';
import { createExporter } from './export.ts';
import { createImporter } from './export-import.ts';
import type { StorageLimits } from './storage-limits.ts';

type Resolvers = GraphQLResolverMap<DomainContext>;

/** Resolver maps merged type by type (the storage SDL extends Query, Mutation and Message). */
export function mergeResolvers(...maps: Resolvers[]): Resolvers {
  const merged: Resolvers = {};
  for (const map of maps)
    for (const [type, fields] of Object.entries(map))
      merged[type] = { ...(merged[type] as object), ...(fields as object) };
  return merged;
}

/** Resolvers of storage.graphql. */
export function storageResolvers(deps: { objects: ObjectStore; limits: StorageLimits }): Resolvers {
  return mergeResolvers(attachmentResolvers(deps), {
    Mutation: { exportSessions: createExporter(deps), importSessions: createImporter(deps) },
  });
}
