/**
 * Which event becomes which e-mail, to whom. Pure: the mail service feeds it event
 * payloads and sends what comes back; null means "no e-mail for this event".
 */
import { templates, type OrderData, type Rendered } from "./templates.ts";

export interface Notification extends Rendered {
  to: string;
  template: string;
}

type Person = { email?: string; name?: string } | null | undefined;

function to(person: Person): { email: string; name: string } | null {
  return person?.email ? { email: person.email, name: person.name ?? "there" } : null;
}

export const NOTIFIED_EVENTS = [
  "user.registered",
  "user.password-reset-requested",
  "user.2fa-enabled",
  "user.password-changed",
  "order.created",
  "order.status-changed",
  "order.cancelled",
];

/**
 * What the notified events carry, each its own fields (services/users, services/orders). An
 * event without the fields its e-mail needs fails to render: it is retried, then dead-lettered.
 */
interface EventPayload {
  user?: Person;
  customer?: Person;
  verifyUrl?: string;
  resetUrl?: string;
  at?: string;
  order?: OrderData & { userId?: unknown };
  from?: string;
  to?: string;
  by?: unknown;
  reason?: unknown;
}

export function notificationFor(event: string, body: unknown): Notification | null {
  const payload: EventPayload = typeof body === "object" && body !== null ? body : {};
  switch (event) {
    case "user.registered": {
      const r = to(payload?.user);
      return r && payload.verifyUrl
        ? { to: r.email, template: "welcome", ...templates.welcome({ name: r.name, verifyUrl: payload.verifyUrl }) }
        : null;
    }
    case "user.password-reset-requested": {
      const r = to(payload?.user);
      return r && payload.resetUrl
        ? { to: r.email, template: "password-reset", ...templates.passwordReset({ name: r.name, resetUrl: payload.resetUrl }) }
        : null;
    }
    case "user.2fa-enabled": {
      const r = to(payload?.user);
      return r ? { to: r.email, template: "2fa-enabled", ...templates.twoFactorEnabled({ name: r.name, at: payload.at! }) } : null;
    }
    case "user.password-changed": {
      const r = to(payload?.user);
      return r ? { to: r.email, template: "password-changed", ...templates.passwordChanged({ name: r.name, at: payload.at! }) } : null;
    }
    case "order.created": {
      const r = to(payload?.customer);
      if (!r) return null;
      return { to: r.email, template: "order-confirmation", ...templates.orderConfirmation({ name: r.name, order: payload.order! }) };
    }
    case "order.status-changed": {
      const r = to(payload?.customer);
      // A cancellation has its own e-mail (order.cancelled).
      if (!r || payload.to === "cancelled") return null;
      const change = { order: payload.order!, from: payload.from!, to: payload.to!, reason: customerNote(payload) };
      return { to: r.email, template: "order-status", ...templates.orderStatusChanged({ name: r.name, ...change }) };
    }
    case "order.cancelled": {
      const r = to(payload?.customer);
      if (!r) return null;
      const cancelled = { name: r.name, order: payload.order!, reason: customerNote(payload) };
      return { to: r.email, template: "order-cancelled", ...templates.orderCancelled(cancelled) };
    }
    default:
      return null;
  }
}

/**
 * The note of a status change as the customer may read it: their own, or the shop system's
 * (e.g. "Not paid within 30 minutes"); a member of staff's note is internal, in e-mails as in
 * the customer's view of the order (domain/order-status.ts customerHistory).
 */
function customerNote(payload: { by?: unknown; reason?: unknown; order?: { userId?: unknown } }): string | null {
  if (typeof payload.reason !== "string" || !payload.reason) return null;
  return payload.by === payload.order?.userId || payload.by === "system" ? payload.reason : null;
}
