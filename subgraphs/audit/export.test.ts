import { describe, expect, it } from '@jest/globals';
import { csvCell, csvLine } from './export.ts';

describe('CSV cells of an audit export', () => {
  it('quotes commas, quotes and newlines by RFC 4180', () => {
    expect(csvLine(['a,b', 'say "hi"', 'two\nlines', 3])).toBe('"a,b","say ""hi""","two\nlines",3\n');
  });

  it('writes objects as JSON and absent values as empty cells', () => {
    expect(csvLine([{ title: 'x' }, null, undefined])).toBe('"{""title"":""x""}",,\n');
  });

  it('neutralises values a spreadsheet would run as a formula', () => {
    expect(csvCell('=HYPERLINK("http://evil")')).toBe(`"'=HYPERLINK(""http://evil"")"`);
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('@cmd')).toBe("'@cmd");
  });
});
