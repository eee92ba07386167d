/**
 * Stream helpers for uploads: a guard that enforces the size limit and gives up on a stream
 * that stops moving, and `peek`, which reads the first bytes (to check the type) and hands
 * back a stream that still starts at byte 0.
 */
import { Readable, Transform, type TransformCallback } from "node:stream";

export interface GuardOptions {
  maxBytes: number;
  /** No byte for this long (source silent or sink stuck): fail instead of hanging. */
  idleMs: number;
  tooLarge(): Error;
  idle(): Error;
}

/**
 * Pass-through that fails with `tooLarge()` once more than `maxBytes` went through, and with
 * `idle()` when no chunk arrived for `idleMs`: a remote stream whose sender died never ends
 * by itself (Moleculer's transit has no such timeout).
 */
export class UploadGuard extends Transform {
  bytes = 0;
  private readonly opts: GuardOptions;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: GuardOptions) {
    super();
    this.opts = opts;
    this.arm();
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.destroy(this.opts.idle()), this.opts.idleMs);
    this.timer.unref();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.opts.maxBytes) {
      clearTimeout(this.timer);
      cb(this.opts.tooLarge());
      return;
    }
    this.arm();
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    clearTimeout(this.timer);
    cb();
  }

  override _destroy(err: Error | null, cb: (error?: Error | null) => void): void {
    clearTimeout(this.timer);
    cb(err);
  }
}

/**
 * Read the first `n` bytes of `source` (fewer if it is shorter). Returns them and a stream of
 * the whole content, head included: `source` itself, with the head put back (`unshift`), so
 * destroying it, or its errors, reach the real stream. Only a source that ended within the
 * head is replaced by a stream of what it had.
 */
export function peek(source: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const cleanup = () => {
      source.off("readable", onReadable);
      source.off("end", onEnd);
      source.off("error", onError);
    };
    const finish = (ended: boolean) => {
      cleanup();
      const all = Buffer.concat(chunks);
      if (ended) {
        resolve({ head: all, stream: Readable.from(all.length ? [all] : [], { objectMode: false }) });
      } else {
        source.unshift(all);
        resolve({ head: all.subarray(0, n), stream: source });
      }
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while (length < n && (chunk = source.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        length += chunk.length;
      }
      if (length >= n) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    if (source.readableEnded) return finish(true);
    source.on("readable", onReadable);
    source.once("end", onEnd);
    source.once("error", onError);
  });
}
