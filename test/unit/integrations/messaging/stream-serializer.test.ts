import { randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { ServiceBroker, Serializers } from "moleculer";
import { StreamSerializer } from "../../../../integrations/messaging/stream-serializer.ts";

const serializer = new StreamSerializer();
const json = new Serializers.JSON();
const base = { ver: "5", sender: "node-1" };
const roundTrip = (obj: Record<string, any>, type: string) => serializer.deserialize(serializer.serialize({ ...obj }, type), type);

describe("StreamSerializer", () => {
  test.each([
    [
      "REQ",
      "params",
      { ...base, id: "r1", action: "storage.upload", meta: {}, timeout: 0, level: 1, stream: true, seq: 3, requestID: "q", caller: null },
    ],
    ["RES", "data", { ...base, id: "r1", meta: { a: 1 }, success: true, stream: true, seq: 2 }],
    ["EVENT", "data", { ...base, id: "e1", event: "files.uploaded", meta: {}, level: 1, groups: ["x"], broadcast: false, needAck: null }],
  ] as const)("%s with a Buffer in %s: a binary frame, and back the same packet", (type, field, packet) => {
    const bytes = randomBytes(64 * 1024 + 3);
    const buf = serializer.serialize({ ...packet, [field]: bytes }, type);
    expect(buf[0]).toBe(0x00);
    // The bytes as they are, not 3.5 times bigger as JSON numbers.
    expect(buf.length).toBeLessThan(bytes.length + 400);
    const back = serializer.deserialize(buf, type);
    expect(Buffer.isBuffer(back[field])).toBe(true);
    expect(Buffer.compare(back[field], bytes)).toBe(0);
    expect({ ...back, [field]: null }).toEqual({ ...packet, [field]: null });
  });

  test("an empty Buffer stays an empty Buffer (not null, not undefined)", () => {
    const back = roundTrip({ ...base, id: "r1", params: Buffer.alloc(0), meta: {}, stream: true, seq: 1 }, "REQ");
    expect(Buffer.isBuffer(back.params)).toBe(true);
    expect(back.params.length).toBe(0);
  });

  test("the bytes may contain anything, a leading 0x00 or a `{` included", () => {
    for (const bytes of [Buffer.from([0, 0, 0, 0, 0]), Buffer.from('{"type":"Buffer","data":[1]}'), randomBytes(1)]) {
      const back = roundTrip({ ...base, id: "x", data: bytes, meta: {}, success: true }, "RES");
      expect(Buffer.compare(back.data, bytes)).toBe(0);
    }
  });

  test("every packet without a Buffer is byte for byte what the JSON serializer writes", () => {
    const packets: [string, Record<string, any>][] = [
      [
        "REQ",
        {
          ...base,
          id: "r1",
          action: "users.get",
          params: { id: 1, name: "ü ✓", nested: { list: [1, null, "x"] } },
          meta: { user: { id: "u" } },
          timeout: 5000,
          level: 1,
          stream: false,
          requestID: "q",
        },
      ],
      ["REQ", { ...base, id: "r2", action: "storage.upload", params: null, meta: {}, stream: false, seq: 801 }],
      ["REQ", { ...base, id: "r3", action: "a.b", params: undefined, meta: {} }],
      ["REQ", { ...base, id: "r4", action: "a.b", params: { type: "Buffer", data: [1, 2] }, meta: {} }],
      ["RES", { ...base, id: "r1", data: { id: 1, rows: [{ a: "b" }] }, meta: {}, success: true }],
      ["RES", { ...base, id: "r1", data: null, meta: {}, success: false, error: { name: "MoleculerError", message: "boom", code: 500 } }],
      ["RES", { ...base, id: "r1", data: "a string", meta: {}, success: true }],
      ["EVENT", { ...base, id: "e1", event: "orders.created", data: { orderId: 7 }, meta: {}, groups: ["mail"], broadcast: false }],
      ["EVENT", { ...base, id: "e2", event: "x", data: undefined, meta: {}, broadcast: true }],
      [
        "INFO",
        {
          ...base,
          services: [{ name: "users", actions: {} }],
          ipList: ["127.0.0.1"],
          hostname: "h",
          client: { type: "nodejs" },
          config: {},
          instanceID: "i",
          metadata: {},
          seq: 1,
        },
      ],
      ["DISCOVER", { ...base }],
      ["HEARTBEAT", { ...base, cpu: 12.5 }],
      ["PING", { ...base, time: 1700000000000, id: "p" }],
      ["PONG", { ...base, time: 1700000000000, arrived: 1700000000001, id: "p" }],
      ["DISCONNECT", { ...base }],
      ["GOSSIP_HELLO", { ...base, host: "h", port: 1 }],
      ["GOSSIP_REQ", { ...base, online: { a: [1, 2, 3] } }],
      ["GOSSIP_RES", { ...base, online: { a: [1, 2, 3] }, offline: { b: 4 } }],
    ];
    for (const [type, packet] of packets) {
      const ours = serializer.serialize(structuredClone(packet), type);
      expect(ours.equals(json.serialize(structuredClone(packet)))).toBe(true);
      expect(serializer.deserialize(ours, type)).toEqual(json.deserialize(ours));
    }
  });

  test("a Buffer elsewhere than params/data, or a type that carries none, is left to JSON", () => {
    const packet = { ...base, id: "r1", params: { file: Buffer.from("ab") }, meta: {} };
    expect(serializer.serialize(structuredClone(packet), "REQ").equals(json.serialize(structuredClone(packet)))).toBe(true);
    const info = { ...base, data: Buffer.from("ab") };
    expect(serializer.serialize({ ...info }, "INFO").equals(json.serialize({ ...info }))).toBe(true);
  });

  test("a binary frame in a packet type that has no Buffer field is refused", () => {
    const frame = serializer.serialize({ ...base, id: "r1", params: Buffer.from("x"), meta: {} }, "REQ");
    expect(() => serializer.deserialize(frame, "INFO")).toThrow(/binary frame/);
  });

  test("between two brokers: a request stream and a response stream arrive byte for byte", async () => {
    const opts = {
      namespace: `ser-${randomBytes(3).toString("hex")}`,
      transporter: "Fake",
      serializer: new StreamSerializer(),
      logger: false,
    } as const;
    const a = new ServiceBroker({ ...opts, nodeID: "a" });
    const b = new ServiceBroker({ ...opts, nodeID: "b", serializer: new StreamSerializer() });
    b.createService({
      name: "echo",
      actions: {
        async bytes(ctx: any) {
          const chunks: Buffer[] = [];
          for await (const c of ctx.stream as AsyncIterable<Buffer>) chunks.push(c);
          return Readable.from([Buffer.alloc(0), ...chunks].reverse(), { objectMode: false });
        },
        sum(ctx: any) {
          return { total: (ctx.params.values as number[]).reduce((x, y) => x + y, 0), meta: ctx.meta.who };
        },
      },
    });
    await Promise.all([a.start(), b.start()]);
    try {
      await a.waitForServices(["echo"], 5000);
      expect(await a.call("echo.sum", { values: [1, 2, 3] }, { meta: { who: "me" } })).toEqual({ total: 6, meta: "me" });
      const parts = [randomBytes(100_000), randomBytes(1), randomBytes(70_000)];
      const res = await a.call<Readable, object>("echo.bytes", {}, { stream: Readable.from(parts, { objectMode: false }) });
      const back: Buffer[] = [];
      for await (const c of res) back.push(c as Buffer);
      expect(Buffer.concat(back).equals(Buffer.concat(parts.toReversed()))).toBe(true);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
