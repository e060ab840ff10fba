import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../config/loadConfig.ts";
import { iceOptions, weriftIceServers } from "./iceOptions.ts";
import { clientIceServerUrls, iceServersFor, turnCredentials } from "./iceServers.ts";

const NOW = 1_700_000_000_000; // 2023-11-14T22:13:20Z

describe("TURN REST API credentials", () => {
  it("matches a vector computed with openssl (HMAC-SHA1 over `<expiry>:<id>`, base64)", () => {
    // printf '%s' '1700086400:alice' | openssl dgst -sha1 -hmac 'north-wind' -binary | base64
    expect(turnCredentials("north-wind", 86400, "alice", NOW)).toEqual({
      username: "1700086400:alice",
      credential: "2cdv8ItP/4kX53j3SEoTDhjFpeM=",
    });
  });

  it("puts now + ttl (whole seconds) in the username", () => {
    const { username } = turnCredentials("s", 600, "x", NOW + 999);
    expect(username).toBe(`${1_700_000_000 + 600}:x`);
  });

  it("refuses an id with a colon, which would change what coturn reads as the expiry", () => {
    expect(() => turnCredentials("s", 600, "a:b", NOW)).toThrow(TypeError);
  });
});

describe("iceServersFor", () => {
  const config = resolveConfig({
    iceServers: ["stun:turn.example.org:3478", "turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"],
    turnSecret: "sekrit",
    turnTtlSeconds: 3600,
  });

  it("gives STUN entries as they are and one TURN entry with all TURN URLs and fresh credentials", () => {
    const servers = iceServersFor(config, "client-1", config.iceServers, NOW);
    expect(servers).toEqual([
      { urls: "stun:turn.example.org:3478" },
      {
        urls: ["turn:turn.example.org:3478?transport=udp", "turn:turn.example.org:3478?transport=tcp"],
        username: "1700003600:client-1",
        credential: createHmac("sha1", "sekrit").update("1700003600:client-1").digest("base64"),
      },
    ]);
    expect(JSON.stringify(servers)).not.toContain("sekrit");
  });

  it("leaves TURN without credentials when no secret is configured", () => {
    const noSecret = resolveConfig({ iceServers: ["turn:t.example:3478"] });
    expect(iceServersFor(noSecret, "c", noSecret.iceServers, NOW)).toEqual([{ urls: "turn:t.example:3478" }]);
  });

  it("hands clients clientIceServers when set, recbot's own list otherwise", () => {
    expect(clientIceServerUrls(config)).toBe(config.iceServers);
    const split = resolveConfig({ iceServers: ["turn:coturn:3478"], clientIceServers: ["turn:turn.example.org:3478"] });
    expect(clientIceServerUrls(split)).toEqual(["turn:turn.example.org:3478"]);
  });
});

describe("iceOptions for NAT deployments", () => {
  it("announces a 1:1 NAT public address as an extra host address and allows pairs on it", () => {
    const options = iceOptions(resolveConfig({ iceAddresses: ["10.0.0.5"], announcedAddresses: ["203.0.113.7"] }), "s");
    expect(options.iceAdditionalHostAddresses).toEqual(["203.0.113.7"]);
    const pair = (host: string) => ({ localCandidate: { type: "host", host }, remoteCandidate: { host: "198.51.100.1" } }) as never;
    expect(options.iceFilterCandidatePair!(pair("203.0.113.7"))).toBe(true);
    expect(options.iceFilterCandidatePair!(pair("10.0.0.5"))).toBe(true);
    expect(options.iceFilterCandidatePair!(pair("172.17.0.1"))).toBe(false);
  });

  it("passes the relay-only policy to werift", () => {
    const options = iceOptions(resolveConfig({ iceTransportPolicy: "relay", iceServers: ["turn:t.example:3478"], turnSecret: "s" }), "s");
    expect(options.iceTransportPolicy).toBe("relay");
  });

  it("refuses a relay-only policy that could never gather a candidate", () => {
    expect(() => resolveConfig({ iceTransportPolicy: "relay" })).toThrow(/turn/);
    expect(() => resolveConfig({ iceTransportPolicy: "relay", iceServers: ["turn:t.example:3478"] })).toThrow(/turnSecret/);
  });

  it("never leaves werift without a STUN server (it would fall back to Google's): an unsendable one stands in", () => {
    expect(weriftIceServers([])).toEqual({ iceServers: [{ urls: "stun:127.0.0.1:0" }], iceStunGatherTimeout: 0.001 });
    const turnOnly = [{ urls: "turn:t.example:3478", username: "u", credential: "c" }];
    expect(weriftIceServers(turnOnly).iceServers).toEqual([{ urls: "stun:127.0.0.1:0" }, ...turnOnly]);
    const withStun = [{ urls: ["stun:s.example:3478"] }];
    expect(weriftIceServers(withStun)).toEqual({ iceServers: withStun, iceStunGatherTimeout: undefined });
    expect(Object.keys(weriftIceServers(withStun))).toContain("iceStunGatherTimeout"); // overrides a stand-in spread before it
  });
});
