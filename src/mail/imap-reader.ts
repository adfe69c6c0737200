import { ImapFlow } from 'imapflow';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import type { InboundMessage, MailAccount, MailReader } from '../desk/inbound-mail.js';

const bare = (id: string) => id.trim().replace(/^<|>$/g, '');

/** Message ids in a header value (`<a@x> <b@y>`), without their angle brackets. */
function messageIds(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(' ') : (value ?? '');
  // Some clients write ids without brackets: then the words of the value are the ids.
  if (!text.includes('<')) return text.split(/\s+/).filter(Boolean);
  return [...text.matchAll(/<([^<>\s]+)>/g)].map((m) => m[1]!);
}

/** A header's value as written (lower-case), or '' when the message has none. */
function header(parsed: ParsedMail, name: string): string {
  const line = parsed.headerLines.find((h) => h.key === name)?.line ?? '';
  return line.slice(line.indexOf(':') + 1).trim().toLowerCase();
}

/** Mail sent by a machine about mail (RFC 3834 Auto-Submitted, Precedence, common auto-reply headers, bounces). */
function isAutomatic(parsed: ParsedMail, from: string | null): boolean {
  const autoSubmitted = header(parsed, 'auto-submitted');
  if (autoSubmitted !== '' && autoSubmitted !== 'no') return true;
  if (['bulk', 'junk', 'list', 'auto_reply'].includes(header(parsed, 'precedence'))) return true;
  if (parsed.headers.has('x-autoreply') || parsed.headers.has('x-autorespond')) return true;
  if (/^<\s*>$/.test(header(parsed, 'return-path'))) return true;
  return from !== null && /^(mailer-daemon|postmaster)@/i.test(from);
}

/** The message as the desk reads it. */
export function toInboundMessage(parsed: ParsedMail, raw: Buffer): InboundMessage {
  const first = (parsed.from as AddressObject | undefined)?.value.find((a) => a.address);
  const from = first?.address ? { address: first.address.toLowerCase(), name: first.name ?? '' } : null;
  return {
    messageId: parsed.messageId ? bare(parsed.messageId) : null,
    from,
    subject: parsed.subject ?? '',
    text: (parsed.text ?? '').trim(),
    inReplyTo: parsed.inReplyTo ? (messageIds(parsed.inReplyTo)[0] ?? null) : null,
    references: messageIds(parsed.references),
    automatic: isAutomatic(parsed, from?.address ?? null),
    raw,
  };
}

/** Why a mailbox could not be read, in words that never hold the password. */
function describe(error: unknown, account: MailAccount, opening: boolean): string {
  const e = error as { authenticationFailed?: boolean; code?: string; responseText?: string; message?: string };
  if (e.authenticationFailed) return `The server refused the login of ${account.username}${e.responseText ? ` (${e.responseText})` : ''}.`;
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH') {
    return `Could not connect to ${account.host}:${account.port} (${e.code}).`;
  }
  if (e.code === 'NoConnection' || e.code === 'ETIMEOUT' || e.code === 'ClosedAfterConnectTLS') return `The connection to ${account.host}:${account.port} failed (${e.code}).`;
  const why = e.responseText ?? e.message ?? 'unknown error';
  return opening ? `Opening ${account.host}:${account.port} failed: ${why}` : `Reading ${account.folder} at ${account.host}:${account.port} failed: ${why}`;
}

/**
 * Reads unread mail over IMAP with imapflow: implicit TLS (`tls`), STARTTLS required (`starttls`), or a plain
 * connection (`none`, which the desk allows only to this machine). Each message is fetched without being marked read,
 * handed over, and marked read only once it was handled.
 */
export function createImapReader(options: { timeoutMs?: number } = {}): MailReader {
  const timeoutMs = options.timeoutMs ?? 30_000;
  return {
    async read(account, handle, limits) {
      const client = new ImapFlow({
        host: account.host,
        port: account.port,
        secure: account.security === 'tls',
        doSTARTTLS: account.security === 'starttls' ? true : account.security === 'none' ? false : undefined,
        auth: { user: account.username, pass: account.password },
        logger: false,
        disableAutoIdle: true,
        connectionTimeout: timeoutMs,
        greetingTimeout: timeoutMs,
        socketTimeout: timeoutMs * 2,
      });
      // Failures reach the awaited calls; the event would otherwise end the process.
      client.on('error', () => undefined);
      try {
        await client.connect();
      } catch (error) {
        client.close();
        throw new Error(describe(error, account, true));
      }
      let read = 0;
      let skipped = 0;
      try {
        const lock = await client.getMailboxLock(account.folder);
        try {
          const unread = (await client.search({ seen: false }, { uid: true })) || [];
          for (const uid of unread.sort((a, b) => a - b).slice(0, limits.maxMessages)) {
            const meta = await client.fetchOne(String(uid), { size: true }, { uid: true });
            if (!meta || (meta.size ?? 0) > limits.maxBytes) {
              skipped += 1;
              continue;
            }
            const message = await client.fetchOne(String(uid), { source: true }, { uid: true });
            if (!message || !message.source) continue;
            await handle(toInboundMessage(await simpleParser(message.source), message.source));
            await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
            read += 1;
          }
        } finally {
          lock.release();
        }
      } catch (error) {
        // What the desk threw is passed on as it is; what the server did is said without its details.
        if (error instanceof Error && !('responseText' in error) && !('code' in error)) throw error;
        throw new Error(describe(error, account, false));
      } finally {
        await client.logout().catch(() => client.close());
      }
      return { read, skipped };
    },
  };
}
