/**
 * The shop's durable-event consumer groups and the events each one is bound to: one place for
 * the services that consume them, the producers that declare them, and `npm run migrate:queues`.
 *
 *   mail      the e-mails of user and order events
 *   storage   the files of a removed account
 *   products  stock to give back: a cancelled order, a checkout that could not release its own
 */
import type { Config } from "../lib/config.ts";
import { shopConsumerGroups, type ConsumerGroup } from "../integrations/messaging/durable-events.ts";
import { NOTIFIED_EVENTS } from "../integrations/email/notifications.ts";

export interface GroupTopology extends ConsumerGroup {
  patterns: string[];
}

export function shopTopology(config: Pick<Config, "mail">): { mail: GroupTopology; storage: GroupTopology; products: GroupTopology } {
  const groups = shopConsumerGroups(config);
  return {
    mail: { ...groups.mail, patterns: [...NOTIFIED_EVENTS] },
    storage: { ...groups.storage, patterns: ["user.removed"] },
    products: { ...groups.products, patterns: ["order.cancelled", "reservation.check"] },
  };
}
