import { createHmac } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRecbot } from "../../src/index.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

describe("/ws hands the client its ICE servers first", () => {
  it("sends `ice-servers` with TURN credentials for the session before anything else", async () => {
    const secret = "ws-ice-secret";
    const recbot = await createRecbot({
      host: "127.0.0.1", port: 0, logLevel: "silent", recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-wsice-")),
      clientIceServers: ["stun:turn.example.org:3478", "turn:turn.example.org:3478"], turnSecret: secret,
    });
    const client = new WsClient((await recbot.listen()).replace("http", "ws") + "/ws");
    try {
      const first = await client.waitFor(() => true);
      expect(first.type).toBe("ice-servers");
      const [stun, turn] = first.iceServers;
      expect(stun).toEqual({ urls: "stun:turn.example.org:3478" });
      expect(turn.urls).toBe("turn:turn.example.org:3478");
      expect(turn.credential).toBe(createHmac("sha1", secret).update(turn.username).digest("base64"));
      expect(JSON.stringify(first)).not.toContain(secret);
    } finally {
      client.close();
      await recbot.close();
    }
  });
});
