import { describe, expect, it } from "vitest";
import { checkToken, signToken } from "./auth.ts";

const config = { authTokens: ["a-static-token-0123456789"], authSecret: "a-long-enough-secret" };
const now = 1_800_000_000_000;

describe("checkToken", () => {
  it.each([
    ["a configured static token", "a-static-token-0123456789", "ok"],
    ["no token", undefined, "missing"],
    ["a wrong static token of the same length", "a-static-token-0123456780", "invalid"],
    ["a prefix of a static token", "a-static-token", "invalid"],
    ["a signed token still valid", signToken(config.authSecret, now / 1000 + 60), "ok"],
    ["a signed token past its expiry", signToken(config.authSecret, now / 1000 - 1), "expired"],
    ["a token signed with another secret", signToken("another-secret-xxxxxx", now / 1000 + 60), "invalid"],
    ["a signed token whose expiry was edited", signToken(config.authSecret, now / 1000 + 60).replace(/^\d+/, String(now / 1000 + 99999)), "invalid"],
  ])("%s → %s", (_name, token, expected) => {
    expect(checkToken(config, token, now)).toBe(expected);
  });
});
