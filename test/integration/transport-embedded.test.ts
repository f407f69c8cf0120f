import { describeTransportContract } from './transport-contract.scenario.ts';

describeTransportContract('embedded');
