/**
 * Removes what the benchmark's brokers leave on the shared RabbitMQ: moleculer never
 * deletes its fanout exchanges, and its per-node queues only expire minutes later.
 * Every name carries the run's unique namespace, so nothing else is touched.
 */
import { createRequire } from "node:module";

// amqplib ships no type declarations; this is the little of it used here.
interface Channel {
  deleteQueue(name: string): Promise<unknown>;
  deleteExchange(name: string): Promise<unknown>;
}
interface Connection {
  createChannel(): Promise<Channel>;
  close(): Promise<void>;
}
const amqplib = createRequire(import.meta.url)("amqplib") as { connect(url: string): Promise<Connection> };

const EXCHANGES = ["DISCOVER", "INFO", "DISCONNECT", "HEARTBEAT", "PING"];
const NODE_QUEUES = ["EVENT", "REQ", "RES"];

export async function deleteNamespace(url: string, namespace: string, nodeIDs: string[]): Promise<void> {
  const prefix = `MOL-${namespace}`;
  const connection = await amqplib.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const cmd of EXCHANGES) await channel.deleteExchange(`${prefix}.${cmd}`);
    for (const nodeID of nodeIDs) {
      for (const cmd of NODE_QUEUES) await channel.deleteQueue(`${prefix}.${cmd}.${nodeID}`);
    }
  } finally {
    await connection.close();
  }
}
