import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { parse } from 'graphql';
import { IDENTITY_HEADER, verifyIdentity, type Identity, type RequestOrigin } from '../auth/identity.ts';
import { ErrorCode, formatError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { createOpsHandler, type ReadinessCheck } from '../http/health.ts';
import type { Metrics } from '../http/metrics.ts';
import { BodyTooLargeError, executeApollo, headerValue, sendJson } from '../http/apollo-node.ts';

export interface SubgraphContext {
  identity: Identity | null;
  requestId: string;
  origin: RequestOrigin;
  logger: Logger;
}

export interface SubgraphServerOptions<C extends SubgraphContext> {
  name: string;
  typeDefs: string;
  resolvers: GraphQLResolverMap<C>;
  host: string;
  port: number;
  signingSecret: string;
  logger: Logger;
  metrics: Metrics;
  checks: Record<string, ReadinessCheck>;
  /** Adds per-request dependencies (e.g. a forked EntityManager) to the base context. */
  context: (base: SubgraphContext) => C;
}

/**
 * An Apollo subgraph that only answers the router: every /graphql request must carry
 * the router's signed identity header, so the subgraph cannot be reached around it.
 */
export function createSubgraphServer<C extends SubgraphContext>(options: SubgraphServerOptions<C>) {
  const log = options.logger;
  let httpServer: Server | undefined;
  const apollo = new ApolloServer<C>({
    schema: buildSubgraphSchema([
      { typeDefs: parse(options.typeDefs), resolvers: options.resolvers as GraphQLResolverMap },
    ]),
    formatError: (formatted, error) => {
      const out = formatError(formatted);
      if (out.extensions?.code === ErrorCode.INTERNAL_SERVER_ERROR)
        log.error({ err: error }, 'resolver failed');
      return out;
    },
    includeStacktraceInErrorResponses: false,
    csrfPrevention: false,
    plugins: [ApolloServerPluginInlineTraceDisabled()],
  });
  const ops = createOpsHandler({ metrics: options.metrics, checks: options.checks });

  return {
    async start() {
      await apollo.start();
      httpServer = createServer((req, res) => {
        void (async () => {
          try {
            if (await ops(req, res)) return;
            if (!req.url?.startsWith('/graphql')) return sendJson(res, 404, { error: 'not found' });
            const verified = verifyIdentity(options.signingSecret, headerValue(req, IDENTITY_HEADER));
            if (!verified.ok) {
              log.warn(
                { reason: verified.reason, ip: req.socket.remoteAddress },
                'request without a valid router signature refused',
              );
              return sendJson(res, 401, {
                errors: [
                  { message: `Refused: ${verified.reason}`, extensions: { code: ErrorCode.UNAUTHENTICATED } },
                ],
              });
            }
            const requestId = verified.requestId || randomUUID();
            const base: SubgraphContext = {
              identity: verified.identity,
              requestId,
              origin: verified.origin,
              logger: log.child({ requestId, userId: verified.identity?.userId }),
            };
            await executeApollo(apollo, req, res, () => Promise.resolve(options.context(base)));
          } catch (error) {
            if (error instanceof BodyTooLargeError) {
              return sendJson(res, 413, {
                errors: [{ message: error.message, extensions: { code: ErrorCode.PAYLOAD_TOO_LARGE } }],
              });
            }
            log.error({ err: error }, 'request failed');
            if (!res.headersSent)
              sendJson(res, 500, {
                errors: [
                  { message: 'Internal server error', extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } },
                ],
              });
          }
        })();
      });
      await new Promise<void>((resolve) => httpServer!.listen(options.port, options.host, resolve));
      const port = (httpServer.address() as AddressInfo).port;
      log.info({ port }, `${options.name} subgraph listening`);
      return { url: `http://${options.host}:${port}/graphql` };
    },
    async stop() {
      await apollo.stop();
      await new Promise<void>((resolve) => (httpServer ? httpServer.close(() => resolve()) : resolve()));
    },
  };
}
