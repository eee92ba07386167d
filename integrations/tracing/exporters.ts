/**
 * moleculer's tracing exporters as the shop needs them (TRACING, moleculer.config.ts): Zipkin v2
 * with ids a collector accepts and a last upload when the node stops; the console exporter with
 * the request id on its span trees.
 */
import { createHash } from "node:crypto";
import { TracerExporters, type Span } from "moleculer";
import { withRequestId } from "../../lib/request-id.ts";

/**
 * A Zipkin v2 trace id (16 or 32 lower-case hex digits) for a request id. Moleculer's trace id
 * is the request id (ctx.requestID: the X-Request-Id, or a UUID the gateway generates). A UUID
 * or other 16/32-hex-digit id, dashes removed and lower-cased, is used as it is: the trace of
 * request 3f0c9a2e-... is 3f0c9a2e.... Anything else a client may send (lib/request-id.ts
 * allows [A-Za-z0-9._:-]) becomes the first 32 hex digits of its SHA-256: Zipkin refuses a
 * non-hex id, and with it the whole batch of spans it came in. The request id itself is on
 * every span as the `requestID` tag.
 */
export function zipkinTraceId(requestId: string): string {
  return hexId(requestId, 32);
}

function hexId(id: string, length: 16 | 32): string {
  const hex = id.replace(/-/g, "").toLowerCase();
  if (/^[0-9a-f]+$/.test(hex) && /[^0]/.test(hex)) {
    if (hex.length === length || (length === 32 && hex.length === 16)) return hex;
    if (length === 16 && hex.length === 32) return hex.slice(0, 16); // a span id (ctx.id, a UUID): its first 64 bits, as moleculer does
  }
  return createHash("sha256").update(id).digest("hex").slice(0, length);
}

/** Seconds between two batches of spans sent to the collector (and once more when the node stops). */
export const ZIPKIN_FLUSH_INTERVAL_S = 5;

/**
 * moleculer's Zipkin exporter (plain HTTP + JSON, Zipkin API v2), with ids a collector accepts
 * (zipkinTraceId), credentials as a header (fetch refuses them in a URL), a timeout on each
 * upload, and the spans still queued sent when the node stops instead of dropped.
 */
export class ZipkinExporter extends TracerExporters.Zipkin {
  override makePayload(span: Span): Record<string, unknown> {
    const payload = super.makePayload(span);
    payload.traceId = hexId(span.traceID, 32);
    payload.id = hexId(span.id, 16);
    if (span.parentID) payload.parentId = hexId(span.parentID, 16);
    else delete payload.parentId;
    return payload;
  }

  override flush(): void {
    void this.upload();
  }

  override async stop(): Promise<void> {
    super.stop();
    await this.upload();
  }

  private async upload(): Promise<void> {
    if (this.queue.length === 0) return;
    const spans = this.generateTracingData();
    this.queue.length = 0;
    try {
      const res = await fetch(`${this.opts.baseURL}/api/v2/spans`, {
        method: "POST",
        body: JSON.stringify(spans),
        headers: this.opts.headers,
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok)
        this.logger.warn(`Tracing: the collector refused ${spans.length} spans: ${res.status} ${(await res.text()).slice(0, 200)}`);
    } catch (err) {
      this.logger.warn(`Tracing: ${spans.length} spans not sent to the collector: ${(err as Error).message}`);
    }
  }
}

/** moleculer's console exporter, its span trees logged with the request id (`[id]`, `requestId`) like every other line of the request. */
export class ConsoleExporter extends TracerExporters.Console {
  override printRequest(id: string): void {
    const traceID = (this as unknown as { spans: Record<string, { span: Span } | undefined> }).spans[id]?.span.traceID;
    withRequestId(traceID, () => super.printRequest(id));
  }
}
