import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { toInboundMessage } from './imap-reader.js';

async function read(headers: string[], body = 'Hello', contentType = 'text/plain; charset=utf-8') {
  const raw = Buffer.from([...headers, 'MIME-Version: 1.0', `Content-Type: ${contentType}`, '', body].join('\r\n'));
  return toInboundMessage(await simpleParser(raw), raw);
}

describe('messages as the desk reads them', () => {
  it('takes the sender, subject, ids and text', async () => {
    const message = await read([
      'From: "Alice A." <Alice@Acme.TEST>',
      'Subject: Printer',
      'Message-ID: <m2@acme.test>',
      'In-Reply-To: <m1@acme.test>',
      'References: <m0@acme.test>\r\n <m1@acme.test>',
    ]);
    expect(message).toMatchObject({
      messageId: 'm2@acme.test',
      from: { address: 'alice@acme.test', name: 'Alice A.' },
      subject: 'Printer',
      text: 'Hello',
      inReplyTo: 'm1@acme.test',
      references: ['m0@acme.test', 'm1@acme.test'],
      automatic: false,
    });
  });

  it('reads the text of an HTML-only message', async () => {
    const message = await read(['From: a@x.test', 'Subject: s'], '<p>Line <b>one</b></p><p>Line two</p>', 'text/html; charset=utf-8');
    expect(message.text).toContain('Line one');
    expect(message.text).toContain('Line two');
    expect(message.text).not.toContain('<');
  });

  it('knows mail sent by machines: auto-replies, lists, bounces', async () => {
    const automatic = async (...headers: string[]) => (await read(['Subject: s', ...headers])).automatic;
    expect(await automatic('From: a@x.test', 'Auto-Submitted: auto-replied')).toBe(true);
    expect(await automatic('From: a@x.test', 'Auto-Submitted: auto-generated')).toBe(true);
    expect(await automatic('From: a@x.test', 'Auto-Submitted: no')).toBe(false);
    expect(await automatic('From: a@x.test', 'Precedence: bulk')).toBe(true);
    expect(await automatic('From: a@x.test', 'Precedence: list')).toBe(true);
    expect(await automatic('From: a@x.test', 'X-Autoreply: yes')).toBe(true);
    expect(await automatic('From: a@x.test', 'Return-Path: <>')).toBe(true);
    expect(await automatic('From: MAILER-DAEMON@x.test')).toBe(true);
    expect(await automatic('From: a@x.test', 'Return-Path: <a@x.test>')).toBe(false);
  });

  it('has no sender or ids when the message has none', async () => {
    const message = await read(['Subject: s']);
    expect(message).toMatchObject({ messageId: null, from: null, inReplyTo: null, references: [] });
  });
});
