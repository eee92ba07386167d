/**
 * The SMTP mailer against a real SMTP server (smtp-server): 30 messages at once go over the
 * pool's few connections, not one connection (TCP, greeting, EHLO) each; `?pool=false` in
 * SMTP_URL still gives one connection per message.
 */
import { createMailer, type OutgoingMail } from "../../integrations/email/transport.ts";
import { startSmtp, type TestSmtp } from "../support/smtp.ts";

const mails = (to: string, n: number): OutgoingMail[] =>
  Array.from({ length: n }, (_, i) => ({
    id: `pool-test-${to}-${i}`,
    to,
    subject: `Message ${i}`,
    text: `Body ${i}`,
    html: `<p>Body ${i}</p>`,
  }));

const mailer = (smtpUrl: string) => createMailer({ smtpUrl, from: "Shop <shop@example.com>", outboxDir: "unused" });

let smtp: TestSmtp;
beforeEach(async () => {
  smtp = await startSmtp();
});
afterEach(async () => {
  await smtp.close();
});

test("30 messages at once: every one delivered, over at most 5 connections", async () => {
  const m = mailer(smtp.url);
  try {
    await Promise.all(mails("pooled@example.com", 30).map((mail) => m.send(mail)));
    expect(await smtp.waitFor("pooled@example.com", 30)).toHaveLength(30);
    expect(smtp.connections).toBeGreaterThanOrEqual(1);
    expect(smtp.connections).toBeLessThanOrEqual(5);
  } finally {
    m.close();
  }
});

test("?pool=false in SMTP_URL: one connection per message, as before", async () => {
  const m = mailer(`${smtp.url}?pool=false`);
  try {
    await Promise.all(mails("single@example.com", 10).map((mail) => m.send(mail)));
    expect(await smtp.waitFor("single@example.com", 10)).toHaveLength(10);
    expect(smtp.connections).toBe(10);
  } finally {
    m.close();
  }
});
