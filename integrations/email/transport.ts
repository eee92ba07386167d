/**
 * Sending one e-mail: over SMTP (nodemailer, `SMTP_URL` with auth and TLS in the URL) or,
 * in the embedded default, into an outbox folder as an .eml file per message.
 * The Message-ID derives from the delivery's id, so a resend is recognisable downstream.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { createHash } from "node:crypto";
import { createTransport } from "nodemailer";
import type { Config } from "../../lib/config.ts";

export interface OutgoingMail {
  id: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

export interface Mailer {
  readonly kind: "smtp" | "outbox";
  send(mail: OutgoingMail): Promise<{ messageId: string; path?: string }>;
  verify(): Promise<void>;
  close(): void;
}

function messageIdFor(id: string): string {
  return `<${createHash("sha256").update(id).digest("hex").slice(0, 32)}@moleculer-shop>`;
}

export function createMailer(cfg: Config["mail"]): Mailer {
  const envelope = (mail: OutgoingMail) => ({
    from: cfg.from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: messageIdFor(mail.id),
    headers: { "X-Shop-Delivery": mail.id },
  });

  if (cfg.smtpUrl) {
    const transport = createTransport(cfg.smtpUrl);
    return {
      kind: "smtp",
      async send(mail) {
        const info = await transport.sendMail(envelope(mail));
        return { messageId: info.messageId };
      },
      async verify() {
        await transport.verify();
      },
      close: () => transport.close(),
    };
  }

  const transport = createTransport({ streamTransport: true, buffer: true, newline: "unix" });
  return {
    kind: "outbox",
    async send(mail) {
      const info = (await transport.sendMail(envelope(mail))) as unknown as { message: Buffer; messageId: string };
      await fs.mkdir(cfg.outboxDir, { recursive: true });
      const file = path.join(
        cfg.outboxDir,
        `${new Date().toISOString().replace(/[:.]/g, "-")}-${mail.id.replace(/[^\w.-]+/g, "_").slice(0, 100)}.eml`,
      );
      await fs.writeFile(file, info.message);
      return { messageId: info.messageId, path: file };
    },
    async verify() {
      await fs.mkdir(cfg.outboxDir, { recursive: true });
    },
    close: () => transport.close(),
  };
}
