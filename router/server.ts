import { createServer, type IncomingMessage, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { print, type GraphQLSchema } from 'graphql';
import { WebSocketServer } from 'ws';
import { useServer } from 'graphql-ws/use/ws';
import { API_KEY_PREFIX, type Authenticator } from '../platform/auth/authenticate.ts';
import {
  IDENTITY_HEADER,
  signIdentity,
  type Identity,
  type RequestOrigin,
} from '../platform/auth/identity.ts';
import { AppError, ErrorCode, formatError } from '../platform/errors.ts';
import type { EventTransport } from '../platform/events/transport.ts';
import type { Logger } from '../platform/logger.ts';
import type { Metrics } from '../platform/http/metrics.ts';
import { createOpsHandler } from '../platform/http/health.ts';
import { BodyTooLargeError, executeApollo, headerValue, sendJson } from '../platform/http/apollo-node.ts';
import { placeholderUrl } from '../schema/supergraph.ts';
import { createSubscriptionEngine, type SubscriberContext } from './subscriptions.ts';
import type { SecurityEvents } from './security-events.ts';

interface RouterContext {
  identity: Identity | null;
  requestId: string;
  origin?: RequestOrigin;
}

/** The W3C trace id of an incoming `traceparent`, so audit records join the caller's trace. */
function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent ?? '');
  return match?.[1];
}

function originOf(req: IncomingMessage, trustProxy: boolean): RequestOrigin {
  const forwarded = trustProxy ? headerValue(req, 'x-forwarded-for')?.split(',')[0]?.trim() : undefined;
  const userAgent = headerValue(req, 'user-agent');
  const traceId = traceIdOf(headerValue(req, 'traceparent'));
  return {
    ip: forwarded || req.socket.remoteAddress,
    ...(userAgent ? { userAgent: userAgent.slice(0, 500) } : {}),
    ...(traceId ? { traceId } : {}),
  };
}

export interface RouterDeps {
  supergraphSdl: string;
  subgraphUrls: Record<string, string>;
  authenticate: Authenticator;
  signingSecret: string;
  transport: EventTransport;
  logger: Logger;
  metrics: Metrics;
  host: string;
  port: number;
  production: boolean;
  /** Unique per router instance: every instance sees every event for its own clients. */
  instanceId?: string;
  /** Take the client address from X-Forwarded-For (only behind a proxy that sets it). */
  trustProxy?: boolean;
  /** Where refused credentials are recorded for the audit trail. */
  securityEvents?: Pick<SecurityEvents, 'authFailed'>;
}

export function createRouter(deps: RouterDeps) {
  const log = deps.logger.child({ component: 'router' });
  const byPlaceholder = new Map(
    Object.entries(deps.subgraphUrls).map(([name, url]) => [placeholderUrl(name), url]),
  );
  const gateway = new ApolloGateway({
    supergraphSdl: deps.supergraphSdl,
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource<RouterContext>({
        url: byPlaceholder.get(url ?? '') ?? url,
        // Node's own fetch (undici, keep-alive): the default make-fetch-happen client was the
        // router's largest CPU cost per subgraph call (bench:sessions profile).
        fetcher: fetch,
        willSendRequest({
          request,
          context,
        }: {
          request: { http?: { headers: { set(k: string, v: string): void } } };
          context: Partial<RouterContext>;
        }) {
          // Whatever identity header a client sent is replaced: only the router's signature counts.
          request.http?.headers.set(
            IDENTITY_HEADER,
            signIdentity(
              deps.signingSecret,
              context.identity ?? null,
              context.requestId ?? randomUUID(),
              Date.now(),
              context.origin,
            ),
          );
        },
      }),
  });
  let apiSchema: GraphQLSchema | undefined;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: schema }) => {
    apiSchema = schema;
  });
  const apollo = new ApolloServer<RouterContext>({
    gateway,
    introspection: !deps.production,
    includeStacktraceInErrorResponses: false,
    formatError: (formatted, error) => {
      const out = formatError(formatted);
      if (out.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR)
        log.error({ err: error }, 'operation failed');
      return out;
    },
  });
  const engine = createSubscriptionEngine({
    transport: deps.transport,
    logger: log,
    groupId: `router-${deps.instanceId ?? randomUUID()}`,
    execute: async (document, variables, identity) => {
      const response = await apollo.executeOperation(
        { query: print(document), variables },
        { contextValue: { identity, requestId: randomUUID() } },
      );
      if (response.body.kind !== 'single') throw new Error('unexpected incremental response');
      return response.body.singleResult as never;
    },
  });
  const ops = createOpsHandler({
    metrics: deps.metrics,
    checks: {
      gateway: () => Promise.resolve({ ok: apiSchema !== undefined, subscribers: engine.listenerCount() }),
    },
  });
  let httpServer: Server | undefined;
  let wsServer: WebSocketServer | undefined;
  let wsCleanup: { dispose(): Promise<void> | void } | undefined;

  /** Authenticates; a refused credential is recorded as a security event before the error goes on. */
  async function identityFrom(
    authorization: string | undefined,
    apiKey: string | undefined,
    requestId: string,
    origin: RequestOrigin,
  ) {
    try {
      return await deps.authenticate({ authorization, apiKey });
    } catch (error) {
      if (error instanceof AppError && deps.securityEvents) {
        const usesKey =
          apiKey !== undefined || (authorization ?? '').replace(/^Bearer\s+/i, '').startsWith(API_KEY_PREFIX);
        await deps.securityEvents
          .authFailed({ credential: usesKey ? 'api-key' : 'jwt', reason: error.message, requestId, origin })
          .catch((recordError: unknown) =>
            log.error({ err: recordError, requestId }, 'could not record an authentication failure'),
          );
      }
      throw error;
    }
  }

  return {
    engine,
    async start() {
      await apollo.start();
      await engine.start();
      httpServer = createServer((req, res) => {
        void (async () => {
          const requestId = headerValue(req, 'x-request-id') ?? randomUUID();
          res.setHeader('x-request-id', requestId);
          try {
            if (await ops(req, res)) return;
            const path = req.url?.split('?')[0];
            if (path !== '/graphql' && path !== '/') return sendJson(res, 404, { error: 'not found' });
            const origin = originOf(req, deps.trustProxy ?? false);
            let identity: Identity | null;
            try {
              identity = await identityFrom(
                headerValue(req, 'authorization'),
                headerValue(req, 'x-api-key'),
                requestId,
                origin,
              );
            } catch (error) {
              if (error instanceof AppError) {
                return sendJson(res, 401, {
                  errors: [{ message: error.message, extensions: error.extensions }],
                });
              }
              throw error;
            }
            await executeApollo(apollo, req, res, () => Promise.resolve({ identity, requestId, origin }));
          } catch (error) {
            if (error instanceof BodyTooLargeError) {
              return sendJson(res, 413, {
                errors: [{ message: error.message, extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } }],
              });
            }
            log.error({ err: error, requestId }, 'request failed');
            if (!res.headersSent)
              sendJson(res, 500, {
                errors: [
                  {
                    message: 'Internal server error',
                    extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR, requestId },
                  },
                ],
              });
          }
        })();
      });
      wsServer = new WebSocketServer({ server: httpServer, path: '/graphql' });
      wsCleanup = useServer<Record<string, unknown>, { identity?: Identity }>(
        {
          schema: () => {
            if (!apiSchema) throw new Error('supergraph not loaded');
            return apiSchema;
          },
          onConnect: async (ctx) => {
            const params = ctx.connectionParams ?? {};
            const authorization =
              typeof params.authorization === 'string'
                ? params.authorization
                : typeof params.Authorization === 'string'
                  ? params.Authorization
                  : undefined;
            const apiKey = typeof params.apiKey === 'string' ? params.apiKey : undefined;
            try {
              const identity = await identityFrom(
                authorization,
                apiKey,
                randomUUID(),
                originOf(ctx.extra.request, deps.trustProxy ?? false),
              );
              if (!identity) return false;
              ctx.extra.identity = identity;
              return true;
            } catch {
              return false;
            }
          },
          context: (ctx): SubscriberContext => ({ identity: ctx.extra.identity!, requestId: randomUUID() }),
          subscribe: (args) => engine.subscribe(args),
        },
        wsServer,
      );
      await new Promise<void>((resolve) => httpServer!.listen(deps.port, deps.host, resolve));
      const port = (httpServer.address() as AddressInfo).port;
      log.info({ port }, 'router listening');
      return { url: `http://${deps.host}:${port}/graphql`, port };
    },
    async stop() {
      await wsCleanup?.dispose();
      wsServer?.close();
      await engine.stop();
      await apollo.stop();
      httpServer?.closeAllConnections();
      await new Promise<void>((resolve) => (httpServer ? httpServer.close(() => resolve()) : resolve()));
    },
  };
}
