declare module 'hoodiecrow-imap' {
  import type { Server } from 'node:net';

  interface StoredMessage {
    uid: number;
    flags: string[];
    raw: string;
  }
  interface StoredMailbox {
    messages: StoredMessage[];
  }
  interface IMAPServer {
    server: Server;
    listen(port: number, host: string, callback: () => void): void;
    close(callback: () => void): void;
    getMailbox(path: string): StoredMailbox;
    appendMessage(mailbox: string, flags: string[], internaldate: Date | undefined, raw: string): { message: StoredMessage };
  }
  export default function hoodiecrow(options: {
    plugins?: string[];
    users?: Record<string, { password: string }>;
    storage?: Record<string, unknown>;
    secureConnection?: boolean;
  }): IMAPServer;
}
