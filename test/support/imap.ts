import type { AddressInfo } from 'node:net';
import hoodiecrow from 'hoodiecrow-imap';

export interface ImapServer {
  port: number;
  /** Delivers a message to INBOX, unread. */
  deliver(raw: string): void;
  /** The INBOX's messages with their flags. */
  inbox(): { uid: number; flags: string[]; raw: string }[];
  /** Marks every message unread again, as a user of another mail client might. */
  markAllUnread(): void;
  close(): Promise<void>;
}

/** A real IMAP server (hoodiecrow) on loopback with one account, plain or with implicit TLS (a self-signed certificate). */
export async function startImapServer(account: { username: string; password: string }, options: { tls?: boolean } = {}): Promise<ImapServer> {
  const server = hoodiecrow({
    plugins: ['ID', 'UIDPLUS', 'ENABLE', 'UNSELECT', 'LITERALPLUS', 'SPECIAL-USE', 'IDLE'],
    users: { [account.username]: { password: account.password } },
    storage: { INBOX: { messages: [] }, '': { separator: '/', folders: {} } },
    ...(options.tls ? { secureConnection: true } : {}),
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const inbox = () => server.getMailbox('INBOX').messages;
  return {
    port: (server.server.address() as AddressInfo).port,
    deliver: (raw) => void server.appendMessage('INBOX', [], undefined, raw.replace(/\r?\n/g, '\r\n')),
    inbox: () => inbox().map((m) => ({ uid: m.uid, flags: [...m.flags], raw: m.raw })),
    markAllUnread() {
      for (const message of inbox()) message.flags = message.flags.filter((f) => f !== '\\Seen');
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A plain-text message. */
export function mail(fields: { from: string; to: string; subject: string; body: string; messageId?: string; headers?: Record<string, string> }): string {
  const lines = [
    `From: ${fields.from}`,
    `To: ${fields.to}`,
    `Subject: ${fields.subject}`,
    `Date: ${new Date().toUTCString()}`,
    ...(fields.messageId ? [`Message-ID: <${fields.messageId}>`] : []),
    ...Object.entries(fields.headers ?? {}).map(([name, value]) => `${name}: ${value}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    fields.body,
  ];
  return lines.join('\r\n');
}
