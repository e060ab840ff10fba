import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../config/loadConfig.ts";
import { buildApp } from "../app.ts";

const SECRET = "do-not-leak-this-secret";

async function get(overrides: Parameters<typeof resolveConfig>[0]) {
  const app = await buildApp(resolveConfig({ logLevel: "silent", recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-ice-")), ...overrides }));
  try {
    return await app.inject({ method: "GET", url: "/ice-servers" });
  } finally {
    await app.close();
  }
}

describe("GET /ice-servers", () => {
  it("returns an RTCIceServer[] with ephemeral TURN credentials that coturn's use-auth-secret accepts", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await get({
      iceServers: ["turn:coturn:3478"],
      clientIceServers: ["stun:turn.example.org:3478", "turn:turn.example.org:3478", "turns:turn.example.org:5349"],
      turnSecret: SECRET,
      turnTtlSeconds: 600,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["cache-control"]).toBe("no-store");
    expect(res.body).not.toContain(SECRET);
    const servers = res.json();
    expect(servers).toHaveLength(2);
    expect(servers[0]).toEqual({ urls: "stun:turn.example.org:3478" });
    const turn = servers[1];
    expect(turn.urls).toEqual(["turn:turn.example.org:3478", "turns:turn.example.org:5349"]);
    const [expiry, id] = turn.username.split(":");
    expect(Number(expiry) - before).toBeGreaterThanOrEqual(600);
    expect(Number(expiry) - before).toBeLessThanOrEqual(601);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(turn.credential).toBe(createHmac("sha1", SECRET).update(turn.username).digest("base64"));
  });

  it("gives each request its own username", async () => {
    const config = { iceServers: ["turn:127.0.0.1:3478"], turnSecret: SECRET };
    const [a, b] = [(await get(config)).json(), (await get(config)).json()];
    expect(a[0].username).not.toBe(b[0].username);
  });

  it("returns an empty list when no servers are configured", async () => {
    const res = await get({});
    expect(res.json()).toEqual([]);
  });
});
