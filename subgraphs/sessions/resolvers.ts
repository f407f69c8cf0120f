import { GraphQLScalarType } from 'graphql';
import type { GraphQLResolverMap } from '@apollo/subgraph';
import { requireUser, type DomainContext } from '../../platform/graphql/subgraph-service.ts';
import { DateTime } from '../../platform/graphql/scalars.ts';
import {
  listSessions,
  sessionFields,
  sessionMutations,
  sessionQueries,
  type SessionListArgs,
} from './sessions-resolvers.ts';
import {
  messageFields,
  messageMutations,
  messageQueries,
  sessionMessagesField,
} from './messages-resolvers.ts';
import { searchQueries } from './search.ts';

export { LIMITS } from './validation.ts';

/** Any JSON value; message metadata is validated (object, bounded size) by the resolver. */
const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  serialize: (value) => value,
  parseValue: (value) => value,
});

export const sessionsResolvers: GraphQLResolverMap<DomainContext> = {
  DateTime,
  JSON: JSONScalar,
  Query: {
    me: (_: unknown, __: unknown, ctx: DomainContext) => ({ id: requireUser(ctx).userId }),
    ...sessionQueries,
    ...messageQueries,
    ...searchQueries,
  },
  Mutation: { ...sessionMutations, ...messageMutations },
  Session: { ...sessionFields, messages: sessionMessagesField },
  Message: messageFields,
  User: {
    __resolveReference: (ref: { id: string }) => ref,
    sessions: (user: { id: string }, args: SessionListArgs, ctx: DomainContext) => {
      // A user's sessions are visible to that user only.
      if (requireUser(ctx).userId !== user.id)
        return { edges: [], pageInfo: { hasNextPage: false, endCursor: null } };
      return listSessions(ctx.em, user.id, args);
    },
  },
};
