import {
  GraphQLError,
  Kind,
  parse,
  OperationTypeNode,
  visit,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type OperationDefinitionNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import type { Identity } from '../platform/auth/identity.ts';
import { parseEvent, type EventEnvelope } from '../platform/events/envelope.ts';
import type { EventTransport, Subscription } from '../platform/events/transport.ts';
import type { Logger } from '../platform/logger.ts';
import { ErrorCode } from '../platform/errors.ts';
import { subscriptionBindings, type SubscriptionBinding } from './subscription-bindings.ts';

/** Runs a query through the gateway as the given user. */
export type GatewayExecutor = (
  document: DocumentNode,
  variables: Record<string, unknown>,
  identity: Identity,
) => Promise<ExecutionResult>;

export interface SubscriberContext {
  identity: Identity;
  requestId: string;
}

interface Listener {
  userId: string;
  binding: SubscriptionBinding;
  args: Record<string, unknown>;
  push(event: EventEnvelope): void;
}

/** Turns a subscription field's selection into a query on the bound root field. */
export function entityQuery(
  operation: OperationDefinitionNode,
  field: FieldNode,
  fragments: FragmentDefinitionNode[],
  binding: SubscriptionBinding,
): DocumentNode {
  const used = new Set<string>();
  const collect = { Variable: (node: { name: { value: string } }) => void used.add(node.name.value) };
  if (field.selectionSet) visit(field.selectionSet, collect);
  fragments.forEach((f) => visit(f, collect));
  const keyVar = '__parleyKey';
  const query: OperationDefinitionNode = {
    kind: Kind.OPERATION_DEFINITION,
    operation: OperationTypeNode.QUERY,
    variableDefinitions: [
      ...(operation.variableDefinitions ?? []).filter((d) => used.has(d.variable.name.value)),
      {
        kind: Kind.VARIABLE_DEFINITION,
        variable: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: keyVar } },
        type: {
          kind: Kind.NON_NULL_TYPE,
          type: { kind: Kind.NAMED_TYPE, name: { kind: Kind.NAME, value: 'ID' } },
        },
      },
    ],
    selectionSet: {
      kind: Kind.SELECTION_SET,
      selections: [
        {
          ...field,
          alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
          name: { kind: Kind.NAME, value: binding.queryField },
          arguments: [
            {
              kind: Kind.ARGUMENT,
              name: { kind: Kind.NAME, value: binding.keyArgument },
              value: { kind: Kind.VARIABLE, name: { kind: Kind.NAME, value: keyVar } },
            },
          ],
        },
      ],
    },
  };
  return { kind: Kind.DOCUMENT, definitions: [query, ...fragments] };
}

/**
 * Subscriptions for the router: one transport subscription per router instance feeds
 * every connected client; each event is delivered only to its own user's listeners.
 */
export function createSubscriptionEngine(deps: {
  transport: EventTransport;
  execute: GatewayExecutor;
  logger: Logger;
  groupId: string;
}) {
  const log = deps.logger.child({ component: 'subscriptions' });
  const listenersByUser = new Map<string, Set<Listener>>();
  let feed: Subscription | undefined;

  function dispatch(event: EventEnvelope) {
    for (const listener of listenersByUser.get(event.userId) ?? []) {
      if (listener.binding.types.includes(event.type) && listener.binding.matches(event, listener.args)) {
        listener.push(event);
      }
    }
  }

  /**
   * A listener's stream. graphql-ws calls return() when the client goes away, but an async
   * generator waiting inside an await only sees return() after its next yield; so closing
   * unregisters the listener and wakes the wait at once, or a quiet user's dropped
   * connections would stay registered until their next event.
   */
  function stream(
    listener: Omit<Listener, 'push'>,
    document: DocumentNode,
    identity: Identity,
    variables: Record<string, unknown>,
    responseKey: string,
  ): AsyncGenerator<ExecutionResult> {
    const queue: EventEnvelope[] = [];
    let wake: (() => void) | undefined;
    let closed = false;
    const registered: Listener = {
      ...listener,
      push(event) {
        queue.push(event);
        wake?.();
      },
    };
    const unregister = () => {
      const set = listenersByUser.get(listener.userId);
      set?.delete(registered);
      if (set?.size === 0) listenersByUser.delete(listener.userId);
    };
    const close = () => {
      closed = true;
      unregister();
      wake?.();
    };
    const load = (key: string) => deps.execute(document, { ...variables, __parleyKey: key }, identity);
    const resume = listener.binding.resume;

    async function* run(): AsyncGenerator<ExecutionResult> {
      if (closed) return;
      const set = listenersByUser.get(listener.userId) ?? new Set();
      set.add(registered);
      listenersByUser.set(listener.userId, set);
      // Highest position delivered: live events at or below it (replayed, or republished) are skipped.
      let delivered = -Infinity;
      try {
        const after = resume ? listener.args[resume.argument] : undefined;
        if (resume && typeof after === 'string') {
          // The listener is registered first, so what arrives during the replay waits in the queue.
          const missed = parse(resume.missedQuery);
          let cursor = after;
          while (!closed) {
            const page = await deps.execute(missed, { after: cursor }, identity);
            if (page.errors) {
              yield { errors: page.errors };
              return;
            }
            const items = (page.data?.missed ?? []) as { key: string; position: string }[];
            for (const item of items) {
              const result = await load(item.key);
              delivered = Math.max(delivered, Number(item.position));
              if (result.data && result.data[responseKey] === null && !result.errors) continue;
              yield result;
            }
            if (items.length < resume.pageSize) break;
            cursor = items.at(-1)!.position;
          }
        }
        while (!closed) {
          while (queue.length === 0 && !closed) await new Promise<void>((resolve) => (wake = resolve));
          const event = queue.shift();
          if (!event) return;
          if (resume) {
            const position = resume.positionOf(event);
            if (position <= delivered) continue;
            delivered = position;
          }
          const result = await load(listener.binding.keyOf(event));
          // An entity that is gone (or not the subscriber's) yields nothing rather than an error.
          if (result.data && result.data[responseKey] === null && !result.errors) continue;
          yield result;
        }
      } finally {
        unregister();
      }
    }

    const inner = run();
    const outer: AsyncGenerator<ExecutionResult> = {
      next: (...args) => inner.next(...args),
      return: (value) => {
        close();
        return inner.return(value);
      },
      throw: (error) => {
        close();
        return inner.throw(error);
      },
      [Symbol.asyncIterator]: () => outer,
      [Symbol.asyncDispose]: async () => {
        await outer.return(undefined);
      },
    };
    return outer;
  }

  return {
    topics: [...new Set(Object.values(subscriptionBindings).map((b) => b.topic))],

    async start() {
      feed = await deps.transport.subscribe({
        groupId: deps.groupId,
        topics: this.topics,
        fromBeginning: false,
        handle: async (message) => {
          // Messages are keyed by userId: most concern no connected user and are not even parsed.
          if (!listenersByUser.has(message.key)) return;
          try {
            dispatch(parseEvent(message.value));
          } catch (error) {
            log.warn({ err: error, topic: message.topic, offset: message.offset }, 'ignoring invalid event');
          }
          await Promise.resolve();
        },
      });
    },

    async stop() {
      await feed?.stop();
    },

    /** graphql-ws `subscribe` hook. */
    subscribe(args: ExecutionArgs): AsyncGenerator<ExecutionResult> | ExecutionResult {
      const context = args.contextValue as SubscriberContext;
      const operation = args.document.definitions.find(
        (d): d is OperationDefinitionNode =>
          d.kind === Kind.OPERATION_DEFINITION &&
          (!args.operationName || d.name?.value === args.operationName),
      );
      const field = operation?.selectionSet.selections[0];
      if (
        !operation ||
        operation.operation !== OperationTypeNode.SUBSCRIPTION ||
        field?.kind !== Kind.FIELD
      ) {
        return {
          errors: [
            new GraphQLError('Only subscriptions are served over WebSocket', {
              extensions: { code: ErrorCode.BAD_USER_INPUT },
            }),
          ],
        };
      }
      const binding = subscriptionBindings[field.name.value];
      const fieldDef = args.schema.getSubscriptionType()?.getFields()[field.name.value];
      if (!binding || !fieldDef) {
        return {
          errors: [
            new GraphQLError(`Subscription ${field.name.value} is not served`, {
              extensions: { code: ErrorCode.BAD_USER_INPUT },
            }),
          ],
        };
      }
      const variables = (args.variableValues ?? {}) as Record<string, unknown>;
      const fieldArgs = getArgumentValues(fieldDef, field, variables);
      const fragments = args.document.definitions.filter(
        (d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION,
      );
      const document = entityQuery(operation, field, fragments, binding);
      return stream(
        { userId: context.identity.userId, binding, args: fieldArgs },
        document,
        context.identity,
        variables,
        field.alias?.value ?? field.name.value,
      );
    },

    /** Connected listeners, of one user or of all. */
    listenerCount: (userId?: string) =>
      userId === undefined
        ? [...listenersByUser.values()].reduce((n, s) => n + s.size, 0)
        : (listenersByUser.get(userId)?.size ?? 0),
  };
}
