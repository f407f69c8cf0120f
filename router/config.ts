import {
  baseEnv,
  databaseEnv,
  internalAuthEnv,
  jwtEnv,
  kafkaEnv,
  portsEnv,
  routerHttpEnv,
  subgraphUrlsEnv,
} from '../platform/config.ts';

export const routerEnv = {
  ...baseEnv,
  ...databaseEnv,
  ...kafkaEnv,
  ...jwtEnv,
  ...internalAuthEnv,
  ...portsEnv,
  ...routerHttpEnv,
  ...subgraphUrlsEnv,
};
