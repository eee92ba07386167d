/**
 * Every e-mail the shop sends, in one place: plain text and HTML from the same data.
 * Anything that came from a user (names, addresses, product names) is HTML-escaped;
 * amounts are formatted from integer minor units in the order's currency.
 */
import { formatMoney } from "../../lib/money.ts";

export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

export interface OrderData {
  id: string;
  status: string;
  items: { name: string; sku: string; quantity: number; unitPriceCents: number; lineTotalCents: number }[];
  totalCents: number;
  currency: string;
  shippingAddress: Record<string, string | undefined>;
}

export function escapeHtml(value: unknown): string {
  return String(value ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const SHOP = "Moleculer Shop";

/** A minimal, client-safe HTML layout (inline styles only). */
function layout(title: string, body: string): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>
<body style="font-family:Arial,Helvetica,sans-serif;color:#222;max-width:600px;margin:0 auto;padding:16px">
<h1 style="font-size:20px">${escapeHtml(title)}</h1>
${body}
<p style="color:#888;font-size:12px;margin-top:32px">${SHOP}</p>
</body></html>`;
}

const button = (href: string, label: string) =>
  `<p><a href="${escapeHtml(href)}" style="background:#2d6cdf;color:#fff;padding:10px 16px;border-radius:4px;text-decoration:none">` +
  `${escapeHtml(label)}</a></p>
<p style="font-size:12px;color:#666">Or copy this link: ${escapeHtml(href)}</p>`;

const shortId = (id: string) => id.slice(0, 8).toUpperCase();

function orderLinesText(order: OrderData): string {
  const lines = order.items.map(
    (i) =>
      `  ${i.quantity} × ${i.name} (${i.sku}) @ ${formatMoney(i.unitPriceCents, order.currency)} = ` +
      `${formatMoney(i.lineTotalCents, order.currency)}`,
  );
  return `${lines.join("\n")}\n  Total: ${formatMoney(order.totalCents, order.currency)}`;
}

function orderLinesHtml(order: OrderData): string {
  const rows = order.items
    .map(
      (i) =>
        `<tr><td>${escapeHtml(i.name)} <span style="color:#888">(${escapeHtml(i.sku)})</span></td>` +
        `<td align="right">${i.quantity}</td>` +
        `<td align="right">${escapeHtml(formatMoney(i.unitPriceCents, order.currency))}</td>` +
        `<td align="right">${escapeHtml(formatMoney(i.lineTotalCents, order.currency))}</td></tr>`,
    )
    .join("");
  return `<table width="100%" cellpadding="4" style="border-collapse:collapse">
<tr><th align="left">Item</th><th align="right">Qty</th><th align="right">Price</th><th align="right">Total</th></tr>${rows}
<tr><td colspan="3" align="right"><strong>Total</strong></td><td align="right"><strong>\
${escapeHtml(formatMoney(order.totalCents, order.currency))}</strong></td></tr></table>`;
}

function addressText(a: OrderData["shippingAddress"]): string {
  return [a.name, a.line1, a.line2, `${a.postalCode ?? ""} ${a.city ?? ""}`.trim(), a.country].filter(Boolean).join("\n  ");
}

export const templates = {
  welcome(d: { name: string; verifyUrl: string }): Rendered {
    return {
      subject: `Welcome to ${SHOP}: please confirm your e-mail address`,
      text:
        `Hello ${d.name},\n\nwelcome to ${SHOP}! Please confirm your e-mail address:\n\n` +
        `${d.verifyUrl}\n\nThe link is valid for 3 days.`,
      html: layout(
        `Welcome, ${d.name}`,
        `<p>Please confirm your e-mail address.</p>${button(d.verifyUrl, "Confirm e-mail address")}<p>The link is valid for 3 days.</p>`,
      ),
    };
  },

  passwordReset(d: { name: string; resetUrl: string }): Rendered {
    return {
      subject: "Reset your password",
      text:
        `Hello ${d.name},\n\nsomeone (hopefully you) asked to reset your password. Choose a new one here:\n\n` +
        `${d.resetUrl}\n\nThe link works once, for one hour. If it was not you, ignore this e-mail.`,
      html: layout(
        "Reset your password",
        `<p>Hello ${escapeHtml(d.name)},</p><p>someone (hopefully you) asked to reset your password.</p>` +
          `${button(d.resetUrl, "Choose a new password")}` +
          `<p>The link works once, for one hour. If it was not you, ignore this e-mail.</p>`,
      ),
    };
  },

  twoFactorEnabled(d: { name: string; at: string }): Rendered {
    return {
      subject: "Two-factor authentication is on",
      text:
        `Hello ${d.name},\n\ntwo-factor authentication was turned on for your account at ${d.at}.\n` +
        `If this was not you, reset your password at once and contact us.`,
      html: layout(
        "Two-factor authentication is on",
        `<p>Hello ${escapeHtml(d.name)},</p><p>two-factor authentication was turned on for your account at ${escapeHtml(d.at)}.</p>` +
          `<p>If this was not you, reset your password at once and contact us.</p>`,
      ),
    };
  },

  passwordChanged(d: { name: string; at: string }): Rendered {
    return {
      subject: "Your password was changed",
      text:
        `Hello ${d.name},\n\nthe password of your account was changed at ${d.at}, and every other session was signed out.\n` +
        `If this was not you, reset your password at once.`,
      html: layout(
        "Your password was changed",
        `<p>Hello ${escapeHtml(d.name)},</p>` +
          `<p>the password of your account was changed at ${escapeHtml(d.at)}, and every other session was signed out.</p>` +
          `<p>If this was not you, reset your password at once.</p>`,
      ),
    };
  },

  orderConfirmation(d: { name: string; order: OrderData }): Rendered {
    const o = d.order;
    return {
      subject: `Order ${shortId(o.id)} confirmed: ${formatMoney(o.totalCents, o.currency)}`,
      text:
        `Hello ${d.name},\n\nthank you for your order ${o.id}.\n\n${orderLinesText(o)}\n\n` +
        `Shipping to:\n  ${addressText(o.shippingAddress)}\n`,
      html: layout(
        `Order ${shortId(o.id)} confirmed`,
        `<p>Hello ${escapeHtml(d.name)},</p><p>thank you for your order <code>${escapeHtml(o.id)}</code>.</p>${orderLinesHtml(o)}` +
          `<p>Shipping to:<br>${escapeHtml(addressText(o.shippingAddress)).replace(/\n {2}/g, "<br>")}</p>`,
      ),
    };
  },

  orderStatusChanged(d: { name: string; order: OrderData; from: string; to: string; reason?: string | null }): Rendered {
    const o = d.order;
    const reason = d.reason ? `\nNote: ${d.reason}` : "";
    return {
      subject: `Order ${shortId(o.id)} is now ${d.to}`,
      text: `Hello ${d.name},\n\nyour order ${o.id} went from ${d.from} to ${d.to}.${reason}\n\n${orderLinesText(o)}\n`,
      html: layout(
        `Order ${shortId(o.id)} is now ${d.to}`,
        `<p>Hello ${escapeHtml(d.name)},</p>` +
          `<p>your order <code>${escapeHtml(o.id)}</code> went from <strong>${escapeHtml(d.from)}</strong> ` +
          `to <strong>${escapeHtml(d.to)}</strong>.</p>` +
          `${d.reason ? `<p>Note: ${escapeHtml(d.reason)}</p>` : ""}${orderLinesHtml(o)}`,
      ),
    };
  },

  orderCancelled(d: { name: string; order: OrderData; reason?: string | null }): Rendered {
    const o = d.order;
    return {
      subject: `Order ${shortId(o.id)} cancelled`,
      text:
        `Hello ${d.name},\n\nyour order ${o.id} was cancelled.${d.reason ? `\nReason: ${d.reason}` : ""}\n` +
        `If you paid already, the amount of ${formatMoney(o.totalCents, o.currency)} will be refunded.\n\n${orderLinesText(o)}\n`,
      html: layout(
        `Order ${shortId(o.id)} cancelled`,
        `<p>Hello ${escapeHtml(d.name)},</p><p>your order <code>${escapeHtml(o.id)}</code> was cancelled.</p>` +
          `${d.reason ? `<p>Reason: ${escapeHtml(d.reason)}</p>` : ""}` +
          `<p>If you paid already, the amount of ${escapeHtml(formatMoney(o.totalCents, o.currency))} will be refunded.</p>` +
          `${orderLinesHtml(o)}`,
      ),
    };
  },
};
