import { describe, expect, it } from '@jest/globals';
import { composeSupergraph, readSupergraph } from './supergraph.ts';

describe('the checked-in supergraph', () => {
  it('is what composing the subgraph schemas produces now (run "npm run compose" when this fails)', () => {
    expect(readSupergraph()).toBe(composeSupergraph());
  });
});
