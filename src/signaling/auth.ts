import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Config } from "../config/schema.ts";

/** Mints a signed token valid until `expiresAt` (unix seconds): `<expiry>.<base64url HMAC-SHA256>`. */
export function signToken(secret: string, expiresAt: number): string {
  return `${expiresAt}.${createHmac("sha256", secret).update(`recbot:${expiresAt}`).digest("base64url")}`;
}

const digest = (s: string) => createHash("sha256").update(s).digest();

/** Hashing first gives equal-length buffers, so the comparison takes the same time whatever the input. */
function equal(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

export type TokenCheck = "ok" | "missing" | "invalid" | "expired";

/** Checks a bearer token against the configured static tokens and signed-token secret. */
export function checkToken(config: Pick<Config, "authTokens" | "authSecret">, token: string | undefined, nowMs = Date.now()): TokenCheck {
  if (!token) return "missing";
  let ok = false;
  for (const t of config.authTokens) ok = equal(token, t) || ok; // no early exit: same time whichever matches
  if (ok) return "ok";
  if (config.authSecret) {
    const m = /^(\d{1,12})\.[A-Za-z0-9_-]+$/.exec(token);
    if (m && equal(token, signToken(config.authSecret, Number(m[1])))) {
      return Number(m[1]) * 1000 > nowMs ? "ok" : "expired";
    }
  }
  return "invalid";
}

export function authEnabled(config: Pick<Config, "authTokens" | "authSecret">): boolean {
  return config.authTokens.length > 0 || config.authSecret !== undefined;
}

/** The token of a request: `Authorization: Bearer …`, or `?access_token=` (browsers cannot set headers on WebSocket or <video>). */
export function requestToken(request: FastifyRequest): string | undefined {
  // Auth schemes are case-insensitive (RFC 9110 §11.1): "bearer", "BEARER" and "Bearer" alike.
  const bearer = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(request.headers.authorization ?? "");
  if (bearer) return bearer[1];
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.access_token === "string" ? query.access_token : undefined;
}

/** An onRequest hook: 401 without a token, 403 with a wrong or expired one. */
export function requireToken(config: Config) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (!authEnabled(config) || request.method === "OPTIONS") return; // CORS preflights carry no credentials
    const result = checkToken(config, requestToken(request));
    if (result === "ok") return;
    if (result === "missing") {
      return reply.code(401).header("www-authenticate", 'Bearer realm="recbot"').send({ code: "unauthorized", message: "a bearer token is required" });
    }
    return reply.code(403).send({ code: "forbidden", message: result === "expired" ? "the token has expired" : "the token is not valid" });
  };
}
