import { readFileSync, readdirSync } from 'node:fs';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';

const names = ['sessions', 'tasks', 'audit'] as const;
export type SubgraphName = (typeof names)[number];

export const SUPERGRAPH_PATH = new URL('./supergraph.graphql', import.meta.url);

/** Placeholder URLs: the router maps each subgraph name to its configured URL. */
export const placeholderUrl = (name: string) => `http://${name}.parley.internal/graphql`;

/** A subgraph's SDL: schema.graphql, then its other .graphql files (e.g. sessions/storage.graphql). */
export function subgraphSdl(name: string): string {
  const dir = new URL(`../subgraphs/${name}/`, import.meta.url);
  const extra = readdirSync(dir)
    .filter((f) => f.endsWith('.graphql') && f !== 'schema.graphql')
    .sort();
  return ['schema.graphql', ...extra].map((f) => readFileSync(new URL(f, dir), 'utf8')).join('\n');
}

export function composeSupergraph(): string {
  const result = composeServices(
    names.map((name) => ({
      name,
      url: placeholderUrl(name),
      typeDefs: parse(subgraphSdl(name)),
    })),
  );
  if (result.errors)
    throw new Error(`Composition failed:\n${result.errors.map((e) => e.message).join('\n')}`);
  return result.supergraphSdl;
}

export const readSupergraph = () => readFileSync(SUPERGRAPH_PATH, 'utf8');
