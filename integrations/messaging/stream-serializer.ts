/**
 * moleculer's JSON serializer, except for packets that carry a Buffer: a stream chunk (a REQ
 * whose `params` is a Buffer; a RES or EVENT whose `data` is one). JSON writes a Buffer as
 * `{"type":"Buffer","data":[137,80,...]}`, about 3.5 times its size and slow to build and parse;
 * uploads streamed from the gateway to the storage node are one such packet per chunk.
 *
 * A packet with a Buffer is written as a binary frame:
 *
 *     0x00 | envelope length (uint32 BE) | envelope: the packet as JSON, the field null | the bytes
 *
 * Every other packet is exactly what the JSON serializer writes (it starts with `{`, never
 * 0x00), so the format only matters between nodes that both use this serializer: every node
 * takes its options from moleculer.config.ts.
 */
import { Serializers } from "moleculer";

const BINARY = 0x00;
const HEADER = 5; // marker + envelope length

/** The field of a packet type that may carry a Buffer. */
function bufferField(type: string | undefined): "params" | "data" | undefined {
  if (type === "REQ") return "params";
  if (type === "RES" || type === "EVENT") return "data";
  return undefined;
}

export class StreamSerializer extends Serializers.JSON {
  override serialize(obj: Record<string, unknown>, type?: string): Buffer {
    const field = bufferField(type);
    const bytes: unknown = field ? obj[field] : undefined;
    if (!Buffer.isBuffer(bytes)) return super.serialize(obj);
    const envelope = Buffer.from(JSON.stringify({ ...obj, [field!]: null }));
    const frame = Buffer.allocUnsafe(HEADER + envelope.length + bytes.length);
    frame[0] = BINARY;
    frame.writeUInt32BE(envelope.length, 1);
    envelope.copy(frame, HEADER);
    bytes.copy(frame, HEADER + envelope.length);
    return frame;
  }

  /** A packet, as moleculer's serializers return it (its own type for the payloads of every packet type). */
  override deserialize(buf: Buffer | string, type?: string): ReturnType<Serializers.JSON["deserialize"]> {
    if (typeof buf === "string" || buf.length === 0 || buf[0] !== BINARY) return super.deserialize(buf);
    const field = bufferField(type);
    if (!field) throw new Error(`StreamSerializer: a binary frame in a ${type} packet`);
    const length = buf.readUInt32BE(1);
    const obj: Record<string, unknown> = JSON.parse(buf.toString("utf8", HEADER, HEADER + length));
    // A view, not a copy: it lives as long as the message it came in.
    obj[field] = buf.subarray(HEADER + length);
    return obj;
  }
}
