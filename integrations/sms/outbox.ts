/**
 * The embedded default: each message becomes a JSON file in a folder (`{id, to, body, at}`),
 * where a developer reads the code. Nothing leaves the machine.
 */
import fs from "node:fs/promises";
import path from "node:path";
import type { OutboxSmsOptions, SmsSender } from "./types.ts";

export function createOutboxSender(options: Pick<OutboxSmsOptions, "outboxDir">): SmsSender {
  return {
    kind: "outbox",
    async send(message) {
      await fs.mkdir(options.outboxDir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, "-")}-${message.id.replace(/[^\w.-]+/g, "_").slice(0, 100)}.json`;
      const record = { id: message.id, to: message.to, body: message.body, at: new Date().toISOString() };
      // Written whole under a temporary name, then renamed: a reader never sees half a message.
      const file = path.join(options.outboxDir, name);
      await fs.writeFile(`${file}.tmp`, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
      await fs.rename(`${file}.tmp`, file);
      return { messageId: name, status: "written" };
    },
  };
}
