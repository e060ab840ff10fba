import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { createRecbot, type Config, type Recbot } from "../../src/index.ts";
import { signToken } from "../../src/signaling/auth.ts";

let recbot: Recbot | undefined;
async function start(config: Partial<Config>): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-auth-"));
  recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, logLevel: "silent", ...config });
  return recbot.listen();
}
afterEach(async () => {
  await recbot?.close();
  recbot = undefined;
});

/** Opens a WebSocket and reports the HTTP status of a refused upgrade, or "open". */
function wsStatus(url: string, headers: Record<string, string> = {}): Promise<number | "open"> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on("open", () => (ws.close(), resolve("open")));
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("error", () => {});
  });
}

const TOKEN = "test-token-0123456789abcdef";
const SECRET = "test-secret-0123456789";

describe("bearer-token auth", () => {
  it("guards /ws and /recordings (401 without, 403 wrong or expired), leaves /healthz and /metrics open", async () => {
    const base = await start({ authTokens: [TOKEN], authSecret: SECRET });
    const ws = base.replace("http", "ws") + "/ws";
    expect(await wsStatus(ws)).toBe(401);
    expect(await wsStatus(ws, { authorization: "Bearer wrong-token-0123456789abc" })).toBe(403);
    expect(await wsStatus(ws, { authorization: `Bearer ${TOKEN}` })).toBe("open");
    expect(await wsStatus(`${ws}?access_token=${TOKEN}`)).toBe("open");

    const r401 = await fetch(`${base}/recordings`);
    expect(r401.status).toBe(401);
    expect(r401.headers.get("www-authenticate")).toMatch(/^Bearer/);
    expect((await fetch(`${base}/recordings`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(403);
    expect((await fetch(`${base}/recordings`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);

    const fresh = signToken(SECRET, Math.floor(Date.now() / 1000) + 60);
    const expired = signToken(SECRET, Math.floor(Date.now() / 1000) - 1);
    expect((await fetch(`${base}/recordings`, { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(200);
    const e = await fetch(`${base}/recordings`, { headers: { authorization: `Bearer ${expired}` } });
    expect(e.status).toBe(403);
    expect(((await e.json()) as { message: string }).message).toMatch(/expired/);

    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  });

  it("answers 429 past the per-client rate limit", async () => {
    const base = await start({ rateLimitPerMinute: 5 });
    const statuses = [];
    for (let i = 0; i < 7; i++) statuses.push((await fetch(`${base}/healthz`)).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.slice(5)).toEqual([429, 429]);
  });

  it("answers CORS preflights only for configured origins", async () => {
    const base = await start({ corsOrigins: ["https://app.example"] });
    const ok = await fetch(`${base}/recordings`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "GET" } });
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example");
    const other = await fetch(`${base}/recordings`, { method: "OPTIONS", headers: { origin: "https://evil.example", "access-control-request-method": "GET" } });
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });
});
