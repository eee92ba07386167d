/**
 * A real SMTP server for tests (smtp-server), collecting parsed messages (mailparser).
 * Recipients listed in `reject` are refused with a permanent 550, as a real server would. A
 * message whose client leaves before the server answers its data is not delivered (RFC 5321
 * §4.1.1.4: the server has not taken responsibility for it), so a sender that dies mid-send and
 * sends again later is not counted twice.
 */
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";
import { simpleParser, type ParsedMail } from "mailparser";
import { until } from "../../scripts/support/until.ts";

export interface TestSmtp {
  url: string;
  messages: ParsedMail[];
  reject: Set<string>;
  /** SMTP connections opened by clients so far. */
  readonly connections: number;
  /** Resolves with the messages to `to` once there are at least `count`, or throws after `timeoutMs`. */
  waitFor(to: string, count?: number, timeoutMs?: number): Promise<ParsedMail[]>;
  to(address: string): ParsedMail[];
  close(): Promise<void>;
}

/** `acceptAfterMs`: the server answers each message's data this long after it arrived (a slow mail server). */
export async function startSmtp({ acceptAfterMs = 0 } = {}): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  const reject = new Set<string>();
  let connections = 0;
  const closed = new Set<string>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onClose(session) {
      closed.add(session.id);
    },
    onRcptTo(address, _session, callback) {
      if (reject.has(address.address.toLowerCase())) {
        const err = Object.assign(new Error("Mailbox unavailable"), { responseCode: 550 });
        return callback(err);
      }
      callback();
    },
    onData(stream, session, callback) {
      simpleParser(stream, (err, mail) => {
        setTimeout(() => {
          if (!err && !closed.has(session.id)) messages.push(mail);
          callback(err ?? undefined);
        }, acceptAfterMs);
      });
    },
  });
  // A sender killed in the middle of a message resets its connection, and smtp-server reports a
  // reset inside a transaction as an 'error' event, which unhandled ends the test process (the
  // fault suites kill mail nodes). Any other error still does.
  server.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "ECONNRESET" && err.code !== "EPIPE") throw err;
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  const to = (address: string) => messages.filter((m) => JSON.stringify(m.to).toLowerCase().includes(address.toLowerCase()));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    reject,
    get connections() {
      return connections;
    },
    to,
    async waitFor(address, count = 1, timeoutMs = 15_000) {
      await until(`${count} message(s) to ${address}`, () => to(address).length >= count, { timeoutMs, intervalMs: 50 }).catch(() => {
        throw new Error(`expected ${count} message(s) to ${address}, got ${to(address).length}`);
      });
      return to(address);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
