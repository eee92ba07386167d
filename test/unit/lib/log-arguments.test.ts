import { Writable } from "node:stream";
import { pino } from "pino";
import { joinLogArguments } from "../../../lib/log-arguments.ts";

function capture(withHook: boolean) {
  const lines: Record<string, any>[] = [];
  const out = new Writable({
    write(chunk, _enc, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ base: {}, ...(withHook ? { hooks: { logMethod: joinLogArguments } } : {}) }, out);
  // Typed as moleculer's loggers call it: any arguments.
  return { logger: logger as unknown as Record<"info" | "warn" | "error", (...args: unknown[]) => void>, lines };
}

describe("joinLogArguments (Pino's logMethod hook)", () => {
  test("without it, Pino drops an error passed after the message (why the hook exists)", () => {
    const { logger, lines } = capture(false);
    logger.error("Sending failed:", new Error("SMTP said no"));
    expect(JSON.stringify(lines[0])).not.toContain("SMTP said no");
  });

  test("an error after the message is kept under err, with its stack", () => {
    const { logger, lines } = capture(true);
    logger.error("Sending failed:", new Error("SMTP said no"));
    expect(lines[0]).toMatchObject({ msg: "Sending failed:", err: { type: "Error", message: "SMTP said no" } });
    expect(lines[0]!.err.stack).toContain("log-arguments.test.ts");
  });

  test("other arguments are formatted into the message, as on the console", () => {
    const { logger, lines } = capture(true);
    logger.info("Node ready:", { services: ["api"] }, 3);
    logger.warn("%s of %d", "one", 2);
    expect(lines.map((l) => l.msg)).toEqual(["Node ready: { services: [ 'api' ] } 3", "one of 2"]);
  });

  test("a single message, or an object first, is Pino's own behaviour", () => {
    const { logger, lines } = capture(true);
    logger.info("plain");
    logger.info({ orderId: "o-1" }, "with fields");
    expect(lines[0]).toMatchObject({ msg: "plain" });
    expect(lines[1]).toMatchObject({ orderId: "o-1", msg: "with fields" });
  });
});
