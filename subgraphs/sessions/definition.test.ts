import { describe, expect, it } from '@jest/globals';
import { createSessionsDefinition } from './definition.ts';

describe('the sessions definition without object storage', () => {
  const definition = createSessionsDefinition();
  const resolvers = definition.resolvers as Record<string, Record<string, (...args: unknown[]) => unknown>>;

  it('serves the same SDL, and answers SERVICE_UNAVAILABLE on every storage field', () => {
    expect(definition.typeDefs).toContain('requestAttachmentUpload(input: RequestAttachmentUploadInput!)');
    for (const field of [
      'requestAttachmentUpload',
      'confirmAttachmentUpload',
      'removeAttachment',
      'exportSessions',
      'importSessions',
    ])
      expect(() => resolvers.Mutation![field]!()).toThrow(
        expect.objectContaining({ extensions: { code: 'SERVICE_UNAVAILABLE', dependency: 's3' } }),
      );
    expect(resolvers.Message!.attachments!()).toEqual([]);
  });

  it('keeps the core resolvers next to the storage ones', () => {
    expect(Object.keys(resolvers.Mutation!)).toEqual(
      expect.arrayContaining(['createSession', 'exportSessions']),
    );
  });
});
