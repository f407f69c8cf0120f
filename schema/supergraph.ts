import { readFileSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

const names = ['sessions', 'tasks', 'audit'] as const;
export type SubgraphName = (typeof names)[number];

export const SUPERGRAPH_PATH = new URL('./supergraph.graphql', import.meta.url);

/** Placeholder URLs: the router maps each subgraph name to its configured URL. */
export const placeholderUrl = (name: string) => `http://${name}.parley.internal/graphql`;

export function composeSupergraph(): string {
  const result = composeServices(
    names.map((name) => ({
      name,
      url: placeholderUrl(name),
      typeDefs: parse(readFileSync(new URL(`../subgraphs/${name}/schema.graphql`, import.meta.url), 'utf8')),
    })),
  );
  if (result.errors)
    throw new Error(`Composition failed:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.supergraphSdl;
}

export const readSupergraph = () => readFileSync(SUPERGRAPH_PATH, 'utf8');
