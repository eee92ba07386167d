/** A shop's gateway as tests use it: register and sign in shoppers, create products, place orders. */
import { randomUUID } from "node:crypto";
import { http as rawHttp } from "./node.ts";

export const PASSWORD = "correct horse battery staple";
const ADDRESS = { name: "Buyer", line1: "1 Main St", city: "Paris", postalCode: "75001", country: "FR" };

/** What a test does through the gateway at `api()`: shoppers, products, orders. */
export function shopClient(api: () => string) {
  const http = (path: string, init: Parameters<typeof rawHttp>[1] = {}) => rawHttp(`${api()}${path}`, init);
  const as = (token: string) => ({ authorization: `Bearer ${token}` });
  return {
    http,
    as,
    async shopper(label: string) {
      const email = `${label}-${randomUUID().slice(0, 6)}@example.com`;
      expect((await http("/auth/register", { method: "POST", json: { email, password: PASSWORD, name: "Buyer" } })).status).toBe(201);
      return { email, token: (await http("/auth/login", { method: "POST", json: { email, password: PASSWORD } })).body.accessToken as string };
    },
    async product(admin: string, stock = 5) {
      const res = await http("/products", { method: "POST", headers: as(admin), json: { sku: `M-${randomUUID().slice(0, 6)}`, name: "Copper kettle", priceCents: 2499, currency: "EUR", stock } });
      expect(res.status).toBe(201);
      return res.body as { id: string };
    },
    order: (token: string, productId: string, quantity: number) => http("/orders", { method: "POST", headers: as(token), json: { items: [{ productId, quantity }], shippingAddress: ADDRESS } }),
    async admin(email: string) {
      return (await http("/auth/login", { method: "POST", json: { email, password: PASSWORD } })).body.accessToken as string;
    },
  };
}
