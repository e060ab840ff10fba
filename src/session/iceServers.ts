import { createHmac } from "node:crypto";
import type { Config } from "../config/schema.ts";

/** The shape of the WebRTC `RTCIceServer` dictionary, as `new RTCPeerConnection({ iceServers })` takes it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/**
 * Ephemeral TURN credentials (the TURN REST API scheme coturn's `use-auth-secret` checks):
 * username `<unix-expiry>:<id>`, credential base64(HMAC-SHA1(secret, username)).
 */
export function turnCredentials(secret: string, ttlSeconds: number, id: string, nowMs = Date.now()) {
  if (id.includes(":")) throw new TypeError(`TURN credential id must not contain ":" (got "${id}")`);
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${id}`;
  const credential = createHmac("sha1", secret).update(username).digest("base64");
  return { username, credential };
}

/**
 * STUN/TURN servers for `id`, TURN ones carrying fresh credentials. `urls` defaults to the servers
 * recbot's own peer uses; GET /ice-servers passes the client-facing list.
 */
export function iceServersFor(config: Config, id: string, urls: readonly string[] = config.iceServers, nowMs = Date.now()): IceServer[] {
  const stun = urls.filter((u) => !/^turns?:/.test(u));
  const turn = urls.filter((u) => /^turns?:/.test(u));
  const servers: IceServer[] = stun.map((url) => ({ urls: url }));
  if (turn.length === 0) return servers;
  // One entry for all TURN URLs: they share the credentials, and browsers try each transport listed.
  const credentials = config.turnSecret ? turnCredentials(config.turnSecret, config.turnTtlSeconds, id, nowMs) : {};
  servers.push({ urls: turn.length === 1 ? turn[0] : turn, ...credentials });
  return servers;
}

/** What clients are told to use: `clientIceServers`, or recbot's own list when none is set. */
export function clientIceServerUrls(config: Config): readonly string[] {
  return config.clientIceServers.length ? config.clientIceServers : config.iceServers;
}
