import { describe, expect, it } from '@jest/globals';
import { remap, type Column } from './export-import.ts';

const columns: Column[] = [
  { name: 'id', type: 'uuid' },
  { name: 'session_id', type: 'uuid' },
  { name: 'owner_id', type: 'text' },
  { name: 'content', type: 'text' },
  { name: 'parent_id', type: 'uuid' },
  { name: 'forked_from_message_id', type: 'uuid' },
  { name: 'idempotency_key', type: 'text' },
  { name: 'metadata', type: 'jsonb' },
];

describe('remap (import row → inserted row)', () => {
  it('sets the fixed columns, maps references inside the document and clears the others', () => {
    const ids = new Map([['old-parent', 'new-parent']]);
    const row = {
      id: 'old',
      session_id: 'old-session',
      owner_id: 'alice',
      content: 'hi',
      parent_id: 'old-parent',
      forked_from_message_id: 'elsewhere',
      idempotency_key: 'retry-1',
      metadata: { model: 'x' },
      not_a_column: true,
    };
    expect(remap(row, { id: 'new', session_id: 'new-session', owner_id: 'bob' }, columns, ids)).toEqual({
      id: 'new',
      session_id: 'new-session',
      owner_id: 'bob',
      content: 'hi',
      parent_id: 'new-parent',
      forked_from_message_id: null,
      metadata: { model: 'x' },
    });
  });

  it('leaves out columns the row does not have, so their defaults apply', () => {
    expect(remap({ content: 'x' }, { id: 'n' }, columns, new Map())).toEqual({ id: 'n', content: 'x' });
  });
});
