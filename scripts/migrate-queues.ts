/**
 * npm run migrate:queues
 *
 * Moves the durable-event queues of NAMESPACE on TRANSPORTER (the mail, storage and products
 * consumer groups: their queues, retry queues and dead letters) from classic queues, as versions before
 * quorum queues declared them, to quorum queues, without losing a message
 * (integrations/messaging/queue-migration.ts; docs/rabbitmq-quorum-queues.md). Stop the mail, storage and products nodes
 * first; the other nodes may keep running. Safe to run again: quorum queues are left alone.
 */
import { getConfig, redact, ConfigError } from "../lib/config.ts";
import { migrateGroupToQuorum } from "../integrations/messaging/queue-migration.ts";
import { shopTopology } from "../mixins/durable-topology.ts";

const log = (line: string) => console.log(`  ${line}`);
try {
  const config = getConfig();
  if (!config.transporter) throw new ConfigError("TRANSPORTER is not set: there are no RabbitMQ queues to migrate in the embedded mode");
  console.log(`Durable-event queues of namespace "${config.namespace}" on ${redact(config.transporter.url)}:`);
  for (const group of Object.values(shopTopology(config))) {
    const report = await migrateGroupToQuorum(config.transporter.urls, config.namespace, group, group.patterns, log);
    const { migrated, moved } = report;
    if (migrated.length) log(`${group.group}: ${migrated.length} queues now quorum queues, ${moved} message moves, none lost.`);
  }
} catch (err) {
  console.error(err instanceof ConfigError ? `Configuration error: ${err.message}` : err);
  process.exit(1);
}
