/** Builds a broker for a node and loads the services it runs (from config.services). */
import { ServiceBroker, type BrokerOptions, type ServiceSchema } from "moleculer";
import type { Config } from "./config.ts";
import { brokerOptions } from "../moleculer.config.ts";

export async function loadServiceSchema(name: string): Promise<ServiceSchema> {
  const mod = (await import(`../services/${name}.service.ts`)) as { default: ServiceSchema };
  return mod.default;
}

export async function createBroker(config: Config, overrides: Partial<BrokerOptions> = {}): Promise<ServiceBroker> {
  const broker = new ServiceBroker({ ...brokerOptions(config), ...overrides });
  for (const name of config.services) broker.createService(await loadServiceSchema(name));
  return broker;
}
