import { describeSkeletonFlow } from './skeleton-flow.scenario.ts';

describeSkeletonFlow('embedded');
