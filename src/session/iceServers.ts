import { createHmac } from "node:crypto";
import type { Config } from "../config/schema.ts";

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
  const username = `${Math.floor(nowMs / 1000) + ttlSeconds}:${id}`;
  const credential = createHmac("sha1", secret).update(username).digest("base64");
  return { username, credential };
}

/** The configured STUN/TURN servers, TURN ones carrying fresh credentials for `id`. */
export function iceServersFor(config: Config, id: string): IceServer[] {
  return config.iceServers.map((url) => {
    if (!/^turns?:/.test(url)) return { urls: url };
    if (!config.turnSecret) return { urls: url };
    return { urls: url, ...turnCredentials(config.turnSecret, config.turnTtlSeconds, id) };
  });
}
