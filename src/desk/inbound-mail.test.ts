import { describe, expect, it } from 'vitest';
import { messageKey, replyText, summaryOf, ticketNumberIn } from './inbound-mail.js';

describe('reading mail into tickets', () => {
  it('finds the ticket number Shiplog writes in subjects, and nothing else', () => {
    expect(ticketNumberIn('Re: [#42] Printer on fire')).toBe(42);
    expect(ticketNumberIn('[#7]')).toBe(7);
    expect(ticketNumberIn('Order #42 shipped')).toBeNull();
    expect(ticketNumberIn('[#] empty')).toBeNull();
    expect(ticketNumberIn('[#1234567890] too long')).toBeNull();
  });

  it('makes a summary of a subject without reply and forward prefixes, never empty, at most 500 characters', () => {
    expect(summaryOf('Re: RE: Fwd: Printer')).toBe('Printer');
    expect(summaryOf('AW: SV: WG: Drucker')).toBe('Drucker');
    expect(summaryOf('Reply needed')).toBe('Reply needed');
    expect(summaryOf('   ')).toBe('(no subject)');
    expect(summaryOf('Re:')).toBe('(no subject)');
    expect(summaryOf('x'.repeat(900))).toHaveLength(500);
  });

  it('keeps only the new text of a reply', () => {
    expect(replyText('Fixed now.\n\nOn Mon, 23 Nov 2026 at 10:00, Support <s@d.test> wrote:\n> It jams.')).toBe('Fixed now.');
    expect(replyText('Fixed.\r\n\r\n-----Original Message-----\r\nFrom: Support')).toBe('Fixed.');
    expect(replyText('Fixed.\n\nFrom: Support <s@d.test>\nSent: Monday\nTo: Alice\n\nIt jams.')).toBe('Fixed.');
    expect(replyText('Fixed.\n> quoted\n>\n> more')).toBe('Fixed.');
    // A quote in the middle, answered below, is kept whole.
    expect(replyText('> Is it on?\nYes it is.')).toBe('> Is it on?\nYes it is.');
    // A reply that is all quote keeps its text.
    expect(replyText('> only a quote')).toBe('> only a quote');
    expect(replyText('From: a line that is not a header block')).toBe('From: a line that is not a header block');
  });

  it('keys a message by its Message-ID, or by a digest of the whole message', () => {
    expect(messageKey({ messageId: 'abc@x.test', raw: Buffer.from('whatever') })).toBe('abc@x.test');
    const a = messageKey({ messageId: null, raw: Buffer.from('Subject: a\r\n\r\nbody') });
    expect(a).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(messageKey({ messageId: null, raw: Buffer.from('Subject: a\r\n\r\nbody') })).toBe(a);
    expect(messageKey({ messageId: null, raw: Buffer.from('Subject: b\r\n\r\nbody') })).not.toBe(a);
  });
});
