import { runSubgraph } from '../../platform/graphql/run-subgraph.ts';
import { sessionsSubgraph } from './definition.ts';

runSubgraph(sessionsSubgraph, (config) => config.SESSIONS_PORT);
