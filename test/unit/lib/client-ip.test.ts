import type { IncomingMessage } from "node:http";
import { clientIp, parseTrustProxy, rateLimitKey, trustFunction } from "../../../lib/client-ip.ts";

const request = (peer: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;
const ip = (trust: string | undefined, peer: string, headers: Record<string, string> = {}, header?: "x-forwarded-for" | "forwarded") => {
  const parsed = parseTrustProxy(trust);
  if (parsed && "error" in parsed) throw new Error(parsed.error);
  return clientIp(request(peer, headers), trustFunction(parsed), header);
};

describe("TRUST_PROXY", () => {
  test("values: none, a hop count, addresses and ranges, named ranges", () => {
    for (const none of [undefined, "", " ", "0", "false", "FALSE"]) expect(parseTrustProxy(none)).toBeNull();
    expect(parseTrustProxy("1")).toEqual({ hops: 1 });
    expect(parseTrustProxy("10.0.0.0/8, 192.0.2.7,loopback")).toEqual({ proxies: ["10.0.0.0/8", "192.0.2.7", "loopback"] });
    expect(parseTrustProxy("uniquelocal")).toEqual({ proxies: ["uniquelocal"] });
  });

  test("refused: true (trust anyone), nonsense, too many hops", () => {
    expect(parseTrustProxy("true")).toMatchObject({ error: expect.stringMatching(/hop count/) });
    expect(parseTrustProxy("10.0.0.0/33")).toMatchObject({ error: expect.stringMatching(/CIDR/) });
    expect(parseTrustProxy("proxy.example")).toMatchObject({ error: expect.any(String) });
    expect(parseTrustProxy("33")).toMatchObject({ error: expect.stringMatching(/0 to 32/) });
  });
});

describe("clientIp", () => {
  test("by default X-Forwarded-For and Forwarded are ignored: the socket's peer is the client", () => {
    expect(ip(undefined, "203.0.113.9", { "x-forwarded-for": "198.51.100.1" })).toBe("203.0.113.9");
    expect(ip(undefined, "203.0.113.9", { forwarded: "for=198.51.100.1" }, "forwarded")).toBe("203.0.113.9");
  });

  test("a hop count trusts that many proxies from the gateway: what a client prepends is ignored", () => {
    // The proxy (10.0.0.2) appended the address it saw; the client had sent its own header.
    expect(ip("1", "10.0.0.2", { "x-forwarded-for": "1.1.1.1, 198.51.100.7" })).toBe("198.51.100.7");
    expect(ip("2", "10.0.0.2", { "x-forwarded-for": "1.1.1.1, 198.51.100.7, 10.0.0.9" })).toBe("198.51.100.7");
    expect(ip("1", "10.0.0.2")).toBe("10.0.0.2");
  });

  test("a list trusts those addresses only: a request from elsewhere keeps its peer", () => {
    expect(ip("10.0.0.0/8", "10.0.0.2", { "x-forwarded-for": "198.51.100.7" })).toBe("198.51.100.7");
    expect(ip("10.0.0.0/8", "10.0.0.2", { "x-forwarded-for": "198.51.100.7, 10.1.1.1" })).toBe("198.51.100.7");
    expect(ip("10.0.0.0/8", "203.0.113.5", { "x-forwarded-for": "198.51.100.7" })).toBe("203.0.113.5");
    expect(ip("loopback", "127.0.0.1", { "x-forwarded-for": "2001:db8::1" })).toBe("2001:db8::1");
  });

  test("RFC 7239 Forwarded when the proxy writes that header: quoted IPv6, ports, obfuscated nodes", () => {
    expect(ip("1", "10.0.0.2", { forwarded: 'for=1.1.1.1, for="[2001:db8:cafe::17]:4711";proto=https' }, "forwarded")).toBe(
      "2001:db8:cafe::17",
    );
    expect(ip("1", "10.0.0.2", { forwarded: 'for="192.0.2.43:47011"' }, "forwarded")).toBe("192.0.2.43");
    // Malformed (a port needs quotes): nothing in it is believed.
    expect(ip("1", "10.0.0.2", { forwarded: "for=192.0.2.43:47011" }, "forwarded")).toBe("10.0.0.2");
    expect(ip("1", "10.0.0.2", { forwarded: "for=_hidden" }, "forwarded")).toBe("_hidden");
    // Only the configured header counts: X-Forwarded-For is then ignored, and the other way round.
    expect(ip("1", "10.0.0.2", { "x-forwarded-for": "198.51.100.7" }, "forwarded")).toBe("10.0.0.2");
    expect(ip("1", "10.0.0.2", { forwarded: "for=198.51.100.7" })).toBe("10.0.0.2");
    expect(ip("1", "10.0.0.2", { forwarded: 'for="unterminated' }, "forwarded")).toBe("10.0.0.2");
  });
});

test("rateLimitKey: IPv4 as is (also IPv4-mapped), IPv6 by its /64", () => {
  expect(rateLimitKey("203.0.113.9")).toBe("203.0.113.9");
  expect(rateLimitKey("::ffff:203.0.113.9")).toBe("203.0.113.9");
  expect(rateLimitKey("2001:db8:1:2::1")).toBe("2001:db8:1:2::/64");
  expect(rateLimitKey("2001:db8:1:2:ffff:ffff:ffff:ffff")).toBe("2001:db8:1:2::/64");
  expect(rateLimitKey("2001:db8:1:3::1")).toBe("2001:db8:1:3::/64");
  expect(rateLimitKey("_hidden")).toBe("_hidden");
  expect(rateLimitKey(undefined)).toBeUndefined();
});
