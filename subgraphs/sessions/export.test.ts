import { describe, expect, it } from '@jest/globals';
import { exportPrefixOf, toMarkdown } from './export.ts';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportDocument } from './export-document.ts';

const document: ExportDocument = {
  format: EXPORT_FORMAT,
  version: EXPORT_VERSION,
  exportedAt: '2026-11-23T10:00:00.000Z',
  sessions: [
    {
      session: {
        id: '6f1c1a52-8a1e-4a43-9d43-5ad1b1a7f001',
        title: 'Trip\nto Lyon',
        created_at: '2026-11-20T08:00:00+00:00',
        tags: ['travel', 'work'],
      },
      messages: [
        { id: 'a1', role: 'user', content: 'Book a train', created_at: '2026-11-20T08:00:01.5+00:00' },
        { id: 'a2', role: 'assistant', content: 'Which day?', created_at: '2026-11-20T08:00:02+00:00' },
      ],
      attachments: [{ message_id: 'a1', filename: 'ticket.pdf', content_type: 'application/pdf' }],
    },
  ],
};

describe('the Markdown export', () => {
  it('renders each session with its messages in order, roles, times, tags and attachments', () => {
    expect(toMarkdown(document)).toBe(
      [
        '# Parley export',
        '',
        'Exported 2026-11-23T10:00:00.000Z: 1 session(s), 2 message(s).',
        '',
        '## Trip to Lyon',
        '',
        '- Session: `6f1c1a52-8a1e-4a43-9d43-5ad1b1a7f001`',
        '- Created: 2026-11-20T08:00:00.000Z',
        '- Tags: travel, work',
        '',
        '### user · 2026-11-20T08:00:01.500Z',
        '',
        'Book a train',
        '',
        '_Attachment: ticket.pdf (application/pdf)_',
        '',
        '### assistant · 2026-11-20T08:00:02.000Z',
        '',
        'Which day?',
        '',
      ].join('\n'),
    );
  });

  it('keeps each owner’s exports under a prefix of their own', () => {
    expect(exportPrefixOf('alice')).toMatch(/^exports\/[0-9a-f]{32}\/$/);
    expect(exportPrefixOf('alice')).not.toBe(exportPrefixOf('bob'));
  });
});
