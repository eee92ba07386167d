import { Readable, PassThrough } from "node:stream";
import { pipeline } from "node:stream/promises";
import { jest } from "@jest/globals";
import { peek, UploadGuard } from "../../../../services/storage/streams.ts";
import { Meter, SizeMismatchError } from "../../../../integrations/storage/object-store.ts";

const collect = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
};
const bytes = (s: string) => Buffer.from(s);

describe("peek", () => {
  test("the head across several chunks, and a stream that still starts at byte 0", async () => {
    const source = Readable.from([bytes("ab"), bytes("cd"), bytes("efgh"), bytes("ij")], { objectMode: false });
    const { head, stream } = await peek(source, 5);
    expect(head.toString()).toBe("abcde");
    expect((await collect(stream)).toString()).toBe("abcdefghij");
  });

  test("a stream shorter than the head, and an empty one", async () => {
    const short = await peek(Readable.from([bytes("abc")], { objectMode: false }), 16);
    expect(short.head.toString()).toBe("abc");
    expect((await collect(short.stream)).toString()).toBe("abc");
    const empty = await peek(Readable.from([], { objectMode: false }), 16);
    expect(empty.head.length).toBe(0);
    expect((await collect(empty.stream)).length).toBe(0);
  });

  test("a source error reaches the peek or the consumer", async () => {
    const early = new PassThrough();
    setImmediate(() => early.destroy(new Error("boom early")));
    await expect(peek(early, 4)).rejects.toThrow("boom early");

    const late = new PassThrough();
    late.write(bytes("abcdef"));
    const { stream } = await peek(late, 4);
    setImmediate(() => late.destroy(new Error("boom late")));
    await expect(collect(stream)).rejects.toThrow("boom late");
  });

  test("a consumer that gives up destroys the source, even while it waits for more", async () => {
    const source = new PassThrough();
    source.write(bytes("abcdef"));
    const { stream } = await peek(source, 2);
    const reading = collect(stream);
    await new Promise((r) => setImmediate(r));
    stream.destroy(new Error("consumer failed"));
    await expect(reading).rejects.toThrow("consumer failed");
    expect(source.destroyed).toBe(true);
  });

  test("exactly the head, then the end", async () => {
    const { head, stream } = await peek(Readable.from([bytes("abcd")], { objectMode: false }), 4);
    expect(head.toString()).toBe("abcd");
    expect((await collect(stream)).toString()).toBe("abcd");
  });
});

describe("UploadGuard", () => {
  const guard = (maxBytes: number, idleMs = 60_000) =>
    new UploadGuard({ maxBytes, idleMs, tooLarge: () => new Error("too large"), idle: () => new Error("idle") });

  test("exactly the limit passes; one byte more fails", async () => {
    const ok = guard(10);
    await pipeline(Readable.from([bytes("12345"), bytes("67890")], { objectMode: false }), ok, new PassThrough().resume());
    expect(ok.bytes).toBe(10);
    await expect(
      pipeline(Readable.from([bytes("12345"), bytes("678901")], { objectMode: false }), guard(10), new PassThrough().resume()),
    ).rejects.toThrow("too large");
  });

  test("a stream that stops moving fails after idleMs", async () => {
    jest.useFakeTimers();
    try {
      const g = guard(100, 1000);
      const failed = new Promise((resolve) => g.on("error", resolve));
      g.write(bytes("a"));
      jest.advanceTimersByTime(999);
      expect(g.destroyed).toBe(false);
      g.write(bytes("b")); // progress re-arms the timer
      jest.advanceTimersByTime(999);
      expect(g.destroyed).toBe(false);
      jest.advanceTimersByTime(2);
      expect(((await failed) as Error).message).toBe("idle");
    } finally {
      jest.useRealTimers();
    }
  });
});

describe("Meter", () => {
  test("counts and hashes what passes", async () => {
    const meter = new Meter();
    await pipeline(Readable.from([bytes("hello "), bytes("world")], { objectMode: false }), meter, new PassThrough().resume());
    expect(meter.bytes).toBe(11);
    expect(meter.sha256).toBe("b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  });

  test("with an expected size, longer and shorter streams fail", async () => {
    await expect(
      pipeline(Readable.from([bytes("123456")], { objectMode: false }), new Meter(5), new PassThrough().resume()),
    ).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(pipeline(Readable.from([bytes("1234")], { objectMode: false }), new Meter(5), new PassThrough().resume())).rejects.toThrow(
      "Expected 5 bytes, got 4.",
    );
    expect(() => new Meter().sha256).toThrow("not ended");
  });
});
