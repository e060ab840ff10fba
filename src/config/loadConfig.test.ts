import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, resolveConfig } from "./loadConfig.ts";

describe("loadConfig", () => {
  it("gives every option its default when nothing is set", () => {
    const c = loadConfig({}, []);
    expect(c).toMatchObject({ host: "0.0.0.0", port: 8080, recordingsDir: "./recordings", iceServers: [], iceAddresses: [], logLevel: "info" });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("reads env vars and lets CLI flags win over them", () => {
    const c = loadConfig(
      { RECBOT_PORT: "9000", RECBOT_ICE_SERVERS: "stun:127.0.0.1:3478, turn:127.0.0.1:3478?transport=tcp", RECBOT_UDP_PORT_RANGE: "40000-40100" },
      ["--port", "9100", "--ice-addresses", "127.0.0.1"],
    );
    expect(c.port).toBe(9100);
    expect(c.iceServers).toEqual(["stun:127.0.0.1:3478", "turn:127.0.0.1:3478?transport=tcp"]);
    expect(c.iceAddresses).toEqual(["127.0.0.1"]);
    expect(c.udpPortRange).toEqual([40000, 40100]);
  });

  it.each([
    [{ RECBOT_PORT: "eighty" }, /port: expected an integer/],
    [{ RECBOT_PORT: "70000" }, /\/port/],
    [{ RECBOT_ICE_SERVERS: "http://example" }, /iceServers/],
    [{ RECBOT_UDP_PORT_RANGE: "5000" }, /min-max/],
    [{ RECBOT_UDP_PORT_RANGE: "5000-4000" }, /min must be below max/],
    [{ RECBOT_LOG_LEVEL: "loud" }, /logLevel/],
  ])("rejects %o with a message naming the option", (env, message) => {
    expect(() => loadConfig(env, [])).toThrow(ConfigError);
    expect(() => loadConfig(env, [])).toThrow(message);
  });

  it("rejects unknown CLI flags and unknown config keys", () => {
    expect(() => loadConfig({}, ["--bogus", "1"])).toThrow(/bogus/);
    expect(() => resolveConfig({ bogus: 1 } as never)).toThrow(ConfigError);
  });
});
