/**
 * The two statements every e-mail runs against the delivery log, batched: a message's claim
 * (the row marked `sending`, unless its id is logged already) and its `sent` mark. Claims asked
 * for in the same tick go as one statement (DataLoader), and so do the sent marks of
 * MARK_WINDOW_MS (sends end at different moments), so a mail node working through a prefetch of
 * messages runs a few statements, not 2 per message; alone, a message still runs its own. A
 * batch that fails fails each of its messages, as their own statements would.
 */
import DataLoader from "dataloader";
import { QueryTypes, type Sequelize } from "sequelize";
import { bindPlaceholders, sqlTimestamp } from "../../integrations/database/sequelize.ts";

export interface Claim {
  id: string;
  event: string;
  template: string;
  recipient: string;
  subject: string;
  /** The consumer that sends it: `<nodeID>:<instanceID>` (see mail.service.ts, deliver). */
  owner: string;
}

export interface DeliveryLog {
  /** True when this call logged the message as `sending`; false when its id was there already. */
  claim(claim: Claim): Promise<boolean>;
  /** The message went out: its record keeps the id and status, not the payload. */
  markSent(id: string): Promise<void>;
}

const MAX_BATCH = 100;
/** Sent marks wait this long for others: the message's acknowledgement waits with them. */
const MARK_WINDOW_MS = 5;
const CLAIM_FIELDS = 6;

export function deliveryLog(db: Sequelize): DeliveryLog {
  const claims = new DataLoader<Claim, boolean>(
    async (batch) => {
      const now = batch.length * CLAIM_FIELDS + 1;
      const values = batch.map((_, i) => `(${bindPlaceholders(CLAIM_FIELDS, i * CLAIM_FIELDS + 1)}, 'sending', 1, $${now}, $${now})`);
      const added = await db.query<{ id: string }>(
        // The comment first: Sequelize runs a statement that starts with INSERT INTO on SQLite
        // without reading the rows it returns (sqlite/query.js getDatabaseMethod).
        `/* claim */ INSERT INTO mail_deliveries
          (id, event, template, recipient, subject, owner, status, attempts, "createdAt", "updatedAt")
          VALUES ${values.join(", ")} ON CONFLICT (id) DO NOTHING RETURNING id`,
        {
          bind: [...batch.flatMap((c) => [c.id, c.event, c.template, c.recipient, c.subject, c.owner]), sqlTimestamp(new Date())],
          type: QueryTypes.SELECT,
        },
      );
      // The same id twice in one batch (a redelivery racing the first delivery): the first claims it.
      const claimed = new Set(added.map((row) => row.id));
      return batch.map((c) => claimed.delete(c.id));
    },
    { cache: false, maxBatchSize: MAX_BATCH },
  );

  const marks = new DataLoader<string, true>(
    async (ids) => {
      await db.query(
        `UPDATE mail_deliveries SET status = 'sent', "sentAt" = $1, "updatedAt" = $1, "lastError" = NULL, payload = NULL
          WHERE id IN (${bindPlaceholders(ids.length, 2)})`,
        { bind: [sqlTimestamp(new Date()), ...ids], type: QueryTypes.UPDATE },
      );
      return ids.map(() => true as const);
    },
    { cache: false, maxBatchSize: MAX_BATCH, batchScheduleFn: (run) => setTimeout(run, MARK_WINDOW_MS) },
  );

  return {
    claim: (claim) => claims.load(claim),
    markSent: async (id) => void (await marks.load(id)),
  };
}
