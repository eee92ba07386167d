import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createMailer, smtpTransportUrl } from "../../../../integrations/email/transport.ts";

test("SMTP connections are pooled unless the URL says otherwise", () => {
  expect(smtpTransportUrl("smtp://127.0.0.1:1025")).toBe("smtp://127.0.0.1:1025?pool=true");
  expect(smtpTransportUrl("smtps://user:p%40ss@smtp.example.com:465")).toBe("smtps://user:p%40ss@smtp.example.com:465?pool=true");
  // Settings in the URL are kept, the pool's own too.
  expect(smtpTransportUrl("smtp://h:587?requireTLS=true&maxConnections=2")).toBe("smtp://h:587?requireTLS=true&maxConnections=2&pool=true");
  expect(smtpTransportUrl("smtp://h:25?pool=false")).toBe("smtp://h:25?pool=false");
});

// The embedded default: an .eml file per message in the outbox folder, made on the first send
// and made again when it went away while the node ran (./data cleaned).
const mail = (id: string) => ({ id, to: "ann@example.com", subject: `Order ${id}`, text: "Thanks", html: "<p>Thanks</p>" });

test("writes each message to the outbox folder, making the folder again if it was removed", async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "outbox-mailer-"));
  const outboxDir = path.join(root, "data", "outbox");
  const mailer = createMailer({ smtpUrl: "", from: "Shop <shop@example.com>", outboxDir });
  try {
    const first = await mailer.send(mail("one"));
    expect(path.dirname(first.path!)).toBe(outboxDir);
    expect(fs.readFileSync(first.path!, "utf8")).toMatch(/^Subject: Order one$/m);

    fs.rmSync(path.join(root, "data"), { recursive: true });
    const second = await mailer.send(mail("two"));
    expect(fs.readFileSync(second.path!, "utf8")).toMatch(/^To: ann@example.com$/m);
    expect(fs.readdirSync(outboxDir)).toEqual([path.basename(second.path!)]);
  } finally {
    mailer.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
