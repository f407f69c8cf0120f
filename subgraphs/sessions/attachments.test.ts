import { describe, expect, it } from '@jest/globals';
import { validUpload } from './attachments.ts';

const limits = {
  attachmentMaxBytes: 1000,
  attachmentContentTypes: ['text/plain', 'image/png'],
};
const valid = {
  filename: ' notes.txt ',
  contentType: 'Text/Plain; charset=utf-8',
  size: 10,
  sha256: 'A'.repeat(64),
};
const codeOf = (fn: () => unknown) => {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { extensions: { code: string; field?: string } }).extensions;
  }
};

describe('validUpload', () => {
  it('normalises the file name, the content type and the checksum', () => {
    expect(validUpload(valid, limits)).toEqual({
      filename: 'notes.txt',
      contentType: 'text/plain; charset=utf-8',
      size: 10,
      sha256: 'a'.repeat(64),
    });
  });

  it('names the field of each refused value', () => {
    expect(codeOf(() => validUpload({ ...valid, size: 1001 }, limits))).toEqual({
      code: 'PAYLOAD_TOO_LARGE',
      field: 'size',
      limit: 1000,
    });
    expect(codeOf(() => validUpload({ ...valid, size: 1.5 }, limits))).toMatchObject({ field: 'size' });
    expect(codeOf(() => validUpload({ ...valid, contentType: 'text/html' }, limits))).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'contentType',
    });
    expect(codeOf(() => validUpload({ ...valid, filename: 'a\u0000b' }, limits))).toMatchObject({
      field: 'filename',
    });
    expect(codeOf(() => validUpload({ ...valid, filename: 'x'.repeat(256) }, limits))).toMatchObject({
      field: 'filename',
    });
    expect(codeOf(() => validUpload({ ...valid, sha256: 'g'.repeat(64) }, limits))).toMatchObject({
      field: 'sha256',
    });
  });
});
