import { notificationFor, escapeHtml, templates } from "../../../../integrations/email/index.ts";

const order = {
  id: "3f2b1c4d-0000-4000-8000-000000000000",
  status: "pending",
  items: [
    { name: "Teapot <script>", sku: "TEA-1", quantity: 2, unitPriceCents: 1999, lineTotalCents: 3998 },
    { name: "Spoon & fork", sku: "SP-2", quantity: 3, unitPriceCents: 5, lineTotalCents: 15 },
  ],
  totalCents: 4013,
  currency: "EUR",
  shippingAddress: { name: "Ada", line1: "1 Main St", city: "London", postalCode: "N1", country: "GB" },
};
const customer = { id: "u1", email: "ada@example.com", name: "Ada <Lovelace>" };

test("escapeHtml escapes the five characters", () => {
  expect(escapeHtml(`<a href="x">'&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
});

test("order confirmation: recipient, totals from cents, escaped names in HTML, plain text untouched", () => {
  const n = notificationFor("order.created", { order, customer })!;
  expect(n).toMatchObject({ to: "ada@example.com", template: "order-confirmation" });
  expect(n.subject).toBe("Order 3F2B1C4D confirmed: €40.13");
  expect(n.text).toContain("2 × Teapot <script> (TEA-1) @ €19.99 = €39.98");
  expect(n.text).toContain("Total: €40.13");
  expect(n.html).toContain("Teapot &lt;script&gt;");
  expect(n.html).toContain("Spoon &amp; fork");
  expect(n.html).toContain("Ada &lt;Lovelace&gt;");
  expect(n.html).not.toContain("<script>");
});

test("each event picks its template; unknown events and incomplete payloads send nothing", () => {
  const user = { email: "u@example.com", name: "U" };
  expect(notificationFor("user.registered", { user, verifyUrl: "http://shop/verify-email?token=abc" })).toMatchObject({
    template: "welcome",
    text: expect.stringContaining("http://shop/verify-email?token=abc"),
  });
  expect(notificationFor("user.password-reset-requested", { user, resetUrl: "http://shop/reset?token=x" })).toMatchObject({
    template: "password-reset",
  });
  expect(notificationFor("user.2fa-enabled", { user, at: "2026-01-01T00:00:00Z" })).toMatchObject({ template: "2fa-enabled" });
  expect(notificationFor("user.password-changed", { user, at: "2026-01-01T00:00:00Z" })).toMatchObject({ template: "password-changed" });
  expect(notificationFor("order.status-changed", { order, customer, from: "pending", to: "paid" })).toMatchObject({
    template: "order-status",
    subject: "Order 3F2B1C4D is now paid",
  });
  expect(notificationFor("order.status-changed", { order, customer, from: "pending", to: "cancelled" })).toBeNull();
  expect(notificationFor("order.cancelled", { order, customer, reason: "out of <time>" })).toMatchObject({
    template: "order-cancelled",
    html: expect.stringContaining("out of &lt;time&gt;"),
  });
  expect(notificationFor("order.created", { order, customer: null })).toBeNull();
  expect(notificationFor("user.registered", { user })).toBeNull();
  expect(notificationFor("products.created", {})).toBeNull();
});

test("amounts follow the currency's minor digits", () => {
  const yen = templates.orderConfirmation({ name: "A", order: { ...order, currency: "JPY", totalCents: 4013 } });
  expect(yen.subject).toBe("Order 3F2B1C4D confirmed: JP¥4,013");
});

test("a status change's note reaches the customer when it is theirs or the system's, never a member of staff's", () => {
  const mine = { ...order, userId: "u1" };
  const cancelled = (by: string) => notificationFor("order.cancelled", { order: mine, customer, by, reason: "a note" })!.text;
  expect(cancelled("u1")).toContain("a note");
  expect(cancelled("system")).toContain("a note");
  expect(cancelled("staff-42")).not.toContain("a note");
  const paid = notificationFor("order.status-changed", {
    order: mine,
    customer,
    from: "pending",
    to: "paid",
    by: "staff-42",
    reason: "checked by Bob",
  })!;
  expect(paid.text).not.toContain("checked by Bob");
});
