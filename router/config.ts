import {
  baseEnv,
  databaseEnv,
  internalAuthEnv,
  jwtEnv,
  kafkaEnv,
  portsEnv,
  subgraphUrlsEnv,
} from '../platform/config.ts';

export const routerEnv = {
  ...baseEnv,
  ...databaseEnv,
  ...kafkaEnv,
  ...jwtEnv,
  ...internalAuthEnv,
  ...portsEnv,
  ...subgraphUrlsEnv,
};
