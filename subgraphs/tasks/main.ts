import { runSubgraph } from '../../platform/graphql/run-subgraph.ts';
import { tasksSubgraph } from './definition.ts';

runSubgraph('tasks', tasksSubgraph, (config) => config.TASKS_PORT);
