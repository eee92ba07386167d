/**
 * Who is the client? The socket's peer, unless TRUST_PROXY names the proxies in front of the
 * gateway: then the address that the nearest untrusted hop reported, read from the
 * X-Forwarded-For header (or RFC 7239 `Forwarded`, when the proxy writes that instead), the
 * convention of Express's "trust proxy" setting and the `proxy-addr` package that implements it:
 *
 *   (unset), 0, false         trust none: X-Forwarded-For is ignored (the default)
 *   1, 2, ...                 the first N hops from the gateway are proxies (Heroku, one ALB: 1)
 *   10.0.0.0/8, 192.0.2.7     addresses or CIDR ranges of the proxies, comma-separated
 *   loopback, linklocal, uniquelocal   proxy-addr's named ranges (may be mixed with the above)
 *
 * Only one header is read: a proxy that manages X-Forwarded-For passes a client's own
 * `Forwarded` header through untouched (and the other way round), so trusting both would let a
 * client choose its address. Every per-IP rate limit and the session records use the result.
 */
import type { IncomingMessage } from "node:http";
import proxyaddr from "proxy-addr";
import parseForwarded from "forwarded-parse";
import ipaddr from "ipaddr.js";

export type TrustProxy = { hops: number } | { proxies: string[] } | null;
export type ForwardedHeader = "x-forwarded-for" | "forwarded";

/** TRUST_PROXY's value, or a message saying what is wrong with it. */
export function parseTrustProxy(value: string | undefined): TrustProxy | { error: string } {
  const text = value?.trim() ?? "";
  if (text === "" || text === "0" || text.toLowerCase() === "false") return null;
  if (/^\d+$/.test(text)) {
    const hops = Number(text);
    return hops <= 32 ? { hops } : { error: "must be a hop count from 0 to 32" };
  }
  if (text.toLowerCase() === "true") {
    return { error: "must say whom to trust: a hop count (e.g. 1) or proxy addresses; true would let any client choose its address" };
  }
  const proxies = text
    .split(",")
    .map((p) => p.trim())
    .filter(Boolean);
  try {
    proxyaddr.compile(proxies);
  } catch (err) {
    return {
      error:
        `must be a hop count or a comma-separated list of addresses, CIDR ranges, loopback, linklocal or uniquelocal ` +
        `(${(err as Error).message})`,
    };
  }
  return { proxies };
}

/** The trust function proxy-addr walks the hops with: hop `i` (0 = the socket's peer) is a proxy. */
export function trustFunction(trust: TrustProxy): (address: string, hop: number) => boolean {
  if (trust === null) return () => false;
  if ("hops" in trust) {
    const { hops } = trust;
    return (_address, hop) => hop < hops;
  }
  return proxyaddr.compile(trust.proxies);
}

/** An address as a `for=` of RFC 7239 writes it: quoted, IPv6 in brackets, maybe with a port. */
function forwardedNode(value: string): string {
  const node = value.trim();
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(node);
  if (v6) return v6[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(node);
  return v4 ? v4[1]! : node;
}

/** The `for=` addresses of a Forwarded header, nearest client first (as X-Forwarded-For lists them). */
function forwardedFor(header: string | string[] | undefined): string[] | null {
  if (header === undefined) return [];
  try {
    return parseForwarded(Array.isArray(header) ? header.join(", ") : header)
      .map((element) => element.for)
      .filter((f): f is string => typeof f === "string")
      .map(forwardedNode);
  } catch {
    return null; // malformed: nothing in it is believed
  }
}

/**
 * The client's address for `req`: the socket's peer while it is not a trusted proxy, else the
 * address the forwarding header reports for the hop before it, and so on.
 */
export function clientIp(
  req: IncomingMessage,
  trust: (address: string, hop: number) => boolean,
  header: ForwardedHeader = "x-forwarded-for",
): string | undefined {
  const peer = req.socket?.remoteAddress;
  if (peer === undefined) return undefined;
  if (header === "x-forwarded-for") return proxyaddr(req, trust);
  const chain = forwardedFor(req.headers.forwarded);
  // proxy-addr reads only X-Forwarded-For: give it the Forwarded chain in that form.
  const view = { socket: req.socket, connection: req.socket, headers: { "x-forwarded-for": (chain ?? []).join(", ") } };
  return proxyaddr(view as unknown as IncomingMessage, trust);
}

/**
 * The key a per-address limit counts under: an IPv4 address (also written as IPv4-mapped IPv6)
 * as is, an IPv6 address by its /64 (one subscriber usually gets a whole /64, so counting single
 * addresses would give one client 2^64 buckets), anything unparsable as given.
 */
export function rateLimitKey(ip: string | undefined): string | undefined {
  if (!ip || !ipaddr.isValid(ip)) return ip;
  let address = ipaddr.parse(ip);
  if (address.kind() === "ipv6" && (address as ipaddr.IPv6).isIPv4MappedAddress()) address = (address as ipaddr.IPv6).toIPv4Address();
  if (address.kind() === "ipv4") return address.toString();
  const parts = (address as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
