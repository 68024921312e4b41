// Which addresses Mailroom may call back (webhooks, notify_url): an operator's API key must not turn
// Mailroom into a proxy to its own network or to the cloud metadata service. Addresses are checked
// after DNS resolution, at creation (destination.ts) and again at connect time (http-transport.ts), so
// a name that resolves to a private address is refused too.
import { BlockList, isIP } from "node:net";

const blocked = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8], // "this" network
  ["10.0.0.0", 8], // RFC 1918
  ["100.64.0.0", 10], // carrier-grade NAT (RFC 6598)
  ["127.0.0.0", 8], // loopback
  ["169.254.0.0", 16], // link-local, including 169.254.169.254 (cloud metadata)
  ["172.16.0.0", 12], // RFC 1918
  ["192.0.0.0", 24], // IETF protocol assignments
  ["192.168.0.0", 16], // RFC 1918
  ["198.18.0.0", 15], // benchmarking
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, and broadcast
] as const)
  blocked.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128], // unspecified
  ["::1", 128], // loopback
  ["fc00::", 7], // unique local (includes AWS's fd00:ec2::254 metadata address)
  ["fe80::", 10], // link-local
  ["ff00::", 8], // multicast
  ["100::", 64], // discard-only
] as const)
  blocked.addSubnet(network, prefix, "ipv6");

/** True for loopback, private, link-local, metadata, multicast and reserved addresses. */
export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, "ipv4");
  if (family !== 6) return true; // not an address at all: refuse
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) addresses reach the embedded IPv4 address.
  const embedded = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1];
  if (embedded) return blocked.check(embedded, "ipv4");
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (mappedHex) {
    const high = Number.parseInt(mappedHex[1]!, 16);
    const low = Number.parseInt(mappedHex[2]!, 16);
    return blocked.check(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4");
  }
  return blocked.check(address, "ipv6");
}

/** The configuration variable that lets callbacks reach private addresses (named in every refusal). */
export const ALLOW_PRIVATE_VARIABLE = "WEBHOOK_ALLOW_PRIVATE_ADDRESSES";

/**
 * The first address of a host's DNS answer that the policy refuses, or undefined when it may be
 * called. Any refused address refuses the host: the connection could land on any of them.
 */
export function refusedAddress(
  addresses: readonly string[],
  allowPrivateAddresses: boolean,
): string | undefined {
  if (allowPrivateAddresses) return undefined;
  return addresses.find((address) => isPrivateAddress(address));
}

/** Why an address was refused, naming the setting that would allow it. */
export function refusalMessage(host: string, address: string): string {
  const target = host === address ? `${address} is` : `${host} resolves to ${address},`;
  return `${target} a private, loopback, link-local or metadata address; Mailroom calls those only with ${ALLOW_PRIVATE_VARIABLE}=on`;
}
