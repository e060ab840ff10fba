import { createHash, timingSafeEqual } from "node:crypto";

export type AuthResult = "ok" | "missing" | "wrong";

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Checks an `Authorization: Bearer <token>` header against the configured tokens. Hashing first
 * gives equal-length buffers, so timingSafeEqual compares in constant time whatever the input length.
 */
export function checkBearer(header: string | undefined, tokens: readonly string[]): AuthResult {
  if (tokens.length === 0) return "ok";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  if (!m) return "missing";
  const given = digest(m[1]);
  let ok = false;
  for (const t of tokens) ok = timingSafeEqual(given, digest(t)) || ok;
  return ok ? "ok" : "wrong";
}
