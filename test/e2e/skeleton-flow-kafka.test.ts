import { describeSkeletonFlow } from './skeleton-flow.scenario.ts';

describeSkeletonFlow('kafka');
