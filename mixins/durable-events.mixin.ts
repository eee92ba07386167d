/**
 * For services whose events must reach a consumer that may be down right now (mail):
 * `emitDurable` emits the ordinary Moleculer event for in-cluster listeners and, in a
 * cluster (TRANSPORTER set), also publishes it persistently to RabbitMQ with a publisher
 * confirm (lib/durable-events.ts). In embedded mode the Moleculer event is all there is:
 * every consumer runs in the same process.
 */
import type { Context, ServiceSchema } from "moleculer";
import { getConfig } from "../lib/config.ts";
import { DurableEvents } from "../lib/durable-events.ts";

export interface DurableEventMethods {
  durable: DurableEvents | null;
  emitDurable(ctx: Context, event: string, payload: unknown, messageId: string): Promise<void>;
}

export const DurableEventsMixin: Partial<ServiceSchema> = {
  created() {
    const cfg = getConfig();
    (this as unknown as DurableEventMethods).durable = cfg.transporter ? new DurableEvents(cfg.transporter.url, cfg.namespace, this.logger) : null;
  },

  async stopped() {
    await (this as unknown as DurableEventMethods).durable?.close();
  },

  methods: {
    async emitDurable(this: DurableEventMethods & { logger: { error(...a: unknown[]): void } }, ctx: Context, event: string, payload: unknown, messageId: string) {
      ctx.emit(event, payload);
      if (!this.durable) return;
      try {
        await this.durable.publish(event, payload, messageId, 0, ctx.requestID ?? undefined);
      } catch (err) {
        // The change is committed; losing its notification is logged loudly, not hidden.
        this.logger.error(`Could not queue ${event} (${messageId}) durably: ${(err as Error).message}`);
      }
    },
  },
};
