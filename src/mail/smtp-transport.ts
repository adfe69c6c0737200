import nodemailer from 'nodemailer';
import type { MailServer, MailTransport } from '../desk/notifications.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/**
 * Sends mail with nodemailer over SMTP: implicit TLS on port 465, STARTTLS required elsewhere — except to a server on
 * loopback (a relay on the same machine). Credentials are sent only to authenticate; they never appear in an error.
 */
export function createSmtpTransport(): MailTransport {
  return {
    async send(server: MailServer, message) {
      const transport = nodemailer.createTransport({
        host: server.host,
        port: server.port,
        secure: server.port === 465,
        requireTLS: server.port !== 465 && !LOOPBACK.has(server.host),
        ...(server.username ? { auth: { user: server.username, pass: server.password ?? '' } } : {}),
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 20_000,
      });
      try {
        await transport.sendMail({ from: server.from, to: message.to, subject: message.subject, text: message.text, ...(message.html ? { html: message.html } : {}) });
      } catch (error) {
        const code = (error as { code?: string; responseCode?: number }).code;
        const response = (error as { responseCode?: number }).responseCode;
        throw new Error(`the mail server refused or could not be reached (${code ?? 'error'}${response ? ` ${response}` : ''})`);
      } finally {
        transport.close();
      }
    },
  };
}
