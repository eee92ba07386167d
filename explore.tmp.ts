import "./test/support/env.ts";
import { startTestShop, http } from "./test/support/node.ts";
const node = await startTestShop("explore", { CACHER: "memory", RATE_LIMIT_FACTOR: "100" });
try {
  const api = node.api;
  const deep = "[".repeat(10000) + "]".repeat(10000);
  for (const path of ["/auth/register", "/auth/login", "/auth/password/forgot", "/auth/refresh", "/auth/token"]) {
    const res = await fetch(api + path, { method: "POST", headers: { "content-type": "application/json" }, body: `{"email":${deep},"password":"x","refreshToken":${deep},"grant_type":${deep}}` });
    console.log(path, res.status, (await res.text()).slice(0, 200));
  }
  let r = await http(api + "/auth/login", { method: "POST", json: { email: "x1@a.co\u0000", password: "x" } });
  console.log("login nul", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/products?search=%00");
  console.log("search nul", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/products?__proto__[x]=1&a[constructor]=2");
  console.log("query proto", r.status, JSON.stringify(r.body).slice(0, 400));
  r = await http(api + "/products/%00");
  console.log("path nul", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/auth/register", { method: "POST", json: { email: "ceo@shop.example\u0000.attacker.test", password: "correct horse battery staple", name: "x" } });
  console.log("register nul", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/auth/register", { method: "POST", body: '{"email":"a@b.co","password":"correct horse battery staple","name":"x","__proto__":{"role":"admin"}}', headers: { "content-type": "application/json" } });
  console.log("register proto", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/products", { method: "DELETE" });
  console.log("DELETE /products", r.status, JSON.stringify(r.body).slice(0, 300), r.headers.get("allow"));
  r = await http(api + "/auth/token", { method: "POST", body: "{bad", headers: { "content-type": "application/json" } });
  console.log("token bad json", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/auth/token", { method: "POST", json: { grant_type: 5 } });
  console.log("token 422", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/auth/token", { method: "POST", body: `{"grant_type":${deep}}`, headers: { "content-type": "application/json" } });
  console.log("token deep", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/auth/token", { method: "POST", body: `grant_type=client_credentials%00`, headers: { "content-type": "application/x-www-form-urlencoded" } });
  console.log("token form nul", r.status, JSON.stringify(r.body).slice(0, 300));
  r = await http(api + "/health/live", { headers: { "x-totp": "\u0085" } });
  console.log("hdr c1", r.status, JSON.stringify(r.body).slice(0, 300));
} finally { await node.stop(); }
