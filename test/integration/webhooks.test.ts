import { createServer, type IncomingMessage } from "node:http";
import { mkdtempSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRecbot } from "../../src/index.ts";
import { webhookSignature } from "../../src/recordings/webhooks.ts";
import { makeClip } from "../../src/testkit/clip.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { startRecbotProcess } from "../helpers/recbotProcess.ts";

const SECRET = "webhook-secret-0123456789";

describe("webhooks", () => {
  it("POSTs signed started/finished events for a real recording, retrying after a failure", async () => {
    const received: { body: string; signature: string }[] = [];
    let refusals = 1; // the first delivery is answered 503: it must be retried
    const server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        if (refusals-- > 0) return res.writeHead(503).end();
        received.push({ body, signature: String(req.headers["x-recbot-signature"]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const recbot = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-hook-")), iceAddresses: ["127.0.0.1"],
      logLevel: "silent", webhookUrl: hookUrl, webhookSecret: SECRET,
    });
    try {
      const base = await recbot.listen();
      const result = await publish({ url: base.replace("http", "ws") + "/ws", clip: await makeClip({ seconds: 2 }) });
      const deadline = Date.now() + 10_000;
      while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const events = received.map((r) => JSON.parse(r.body));
      expect(events.map((e) => e.event).sort()).toEqual(["recording.finished", "recording.started"]);
      for (const r of received) expect(r.signature).toBe(webhookSignature(SECRET, r.body));
      const finished = events.find((e) => e.event === "recording.finished");
      expect(finished.recording).toMatchObject({ id: result.finished.recordingId, state: "finished", sessionId: result.sessionId });
      expect(finished.recording.durationMs).toBeGreaterThan(1500);
    } finally {
      await recbot.close();
      server.close();
    }
  });

  it("keeps events a receiver refused across a restart (persisted outbox) and delivers them at the next start", async () => {
    const received: { body: string; signature: string }[] = [];
    let accepting = false; // the receiver is down (503) while the first recbot runs
    const server = createServer((req: IncomingMessage, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        if (!accepting) return res.writeHead(503).end();
        received.push({ body, signature: String(req.headers["x-recbot-signature"]) });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const env = {
      RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_ICE_ADDRESSES: "127.0.0.1",
      RECBOT_RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), "recbot-hook-")),
      RECBOT_WEBHOOK_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, RECBOT_WEBHOOK_SECRET: SECRET,
    };
    try {
      const first = await startRecbotProcess(env);
      const result = await publish({ url: first.url.replace("http", "ws") + "/ws", clip: await makeClip({ seconds: 1 }) });
      expect(await first.stop()).toBe(0); // SIGTERM while both events are still being retried
      expect(first.logs.filter((l) => l.msg === "webhook refused").length).toBeGreaterThanOrEqual(2);
      expect(received).toHaveLength(0);

      accepting = true;
      const second = await startRecbotProcess(env);
      try {
        const deadline = Date.now() + 20_000; // generous: the machine may be busy
        while (received.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        const events = received.map((r) => JSON.parse(r.body));
        expect(events.map((e) => e.event).sort()).toEqual(["recording.finished", "recording.started"]);
        for (const r of received) expect(r.signature).toBe(webhookSignature(SECRET, r.body));
        expect(events.every((e) => e.recording.id === result.finished.recordingId && typeof e.id === "string")).toBe(true);
        expect(new Set(events.map((e) => e.id)).size).toBe(2);
        // Delivered events leave the outbox: a third start sends nothing again.
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await second.stop();
      }
      const third = await startRecbotProcess(env);
      await new Promise((r) => setTimeout(r, 1000));
      await third.stop();
      expect(received).toHaveLength(2);
    } finally {
      server.close();
    }
  });
});
