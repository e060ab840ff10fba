import { isIP } from "node:net";
import type { PeerConfig } from "werift";
import type { Config } from "../config/schema.ts";
import { iceServersFor, type IceServer } from "./iceServers.ts";

export function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.");
}

/**
 * A STUN server werift cannot send to: port 0 makes the send fail locally, so no packet leaves.
 * Needed because werift 0.25 falls back to stun.l.google.com:19302 whenever no STUN server is given,
 * even with `iceServers: []`: every peer would query Google (DNS, then STUN) and hold its answer up to
 * `iceStunGatherTimeout` (5 s) when that fails.
 */
const UNREACHABLE_STUN: IceServer = { urls: "stun:127.0.0.1:0" };

/** werift's `iceServers` for a list of servers, with its public STUN fallback disabled when the list has no STUN server. */
export function weriftIceServers(servers: IceServer[]): Pick<PeerConfig, "iceServers"> & Partial<Pick<PeerConfig, "iceStunGatherTimeout">> {
  const urls = servers.flatMap((s) => (Array.isArray(s.urls) ? s.urls : [s.urls]));
  // werift's own gather timeout (5 s) for a real STUN server; explicit so it also overrides a spread-in stand-in.
  if (urls.some((u) => /^stuns?:/i.test(u))) return { iceServers: servers, iceStunGatherTimeout: undefined };
  // Nothing to wait for: the unreachable server's gathering is abandoned at once.
  return { iceServers: [UNREACHABLE_STUN, ...servers], iceStunGatherTimeout: 0.001 };
}

/**
 * werift ICE settings from the config. werift ignores loopback in `iceInterfaceAddresses` and
 * silently falls back to every interface, so loopback addresses are announced as additional hosts
 * with the normal gathering switched off, and pairs/checks are filtered to the allowed addresses.
 */
export function iceOptions(config: Config, sessionId: string): Partial<PeerConfig> {
  const options: Partial<PeerConfig> = {
    ...weriftIceServers(iceServersFor(config, sessionId)), // never werift's default public STUN server
    icePortRange: config.udpPortRange ? [config.udpPortRange[0], config.udpPortRange[1]] : undefined,
    iceTransportPolicy: config.iceTransportPolicy,
  };
  // 1:1 NAT: the public address is not on any interface, so werift must be told to announce it.
  if (config.announcedAddresses.length) options.iceAdditionalHostAddresses = [...config.announcedAddresses];
  const allowed = config.iceAddresses;
  if (allowed.length === 0) return options;

  const loopback = allowed.filter(isLoopback);
  const routable = allowed.filter((a) => !isLoopback(a));
  const udp4 = routable.find((a) => isIP(a) === 4);
  const udp6 = routable.find((a) => isIP(a) === 6);
  if (routable.length === 0) {
    options.iceUseIpv4 = false;
    options.iceUseIpv6 = false;
  } else {
    options.iceInterfaceAddresses = { udp4, udp6 };
    options.iceUseIpv4 = udp4 !== undefined;
    options.iceUseIpv6 = udp6 !== undefined;
  }
  if (loopback.length) options.iceAdditionalHostAddresses = [...loopback, ...config.announcedAddresses];

  const allowedSet = new Set([...allowed, ...config.announcedAddresses]);
  const loopbackOnly = routable.length === 0;
  options.iceFilterCandidatePair = (pair) => {
    const local = pair.localCandidate;
    if (local.type === "host" && !allowedSet.has(local.host)) return false;
    return !loopbackOnly || isLoopback(pair.remoteCandidate.host);
  };
  if (loopbackOnly && config.iceServers.length === 0) {
    // Without this werift answers connectivity checks from any source address.
    options.iceFilterStunResponse = (_message, address) => isLoopback(address[0]);
  }
  return options;
}
