import { runSubgraph } from '../../platform/graphql/run-subgraph.ts';
import { auditSubgraph } from './definition.ts';

runSubgraph(auditSubgraph, (config) => config.AUDIT_PORT);
