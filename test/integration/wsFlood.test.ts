import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { startRecbotProcess, type RecbotProcess } from "../helpers/recbotProcess.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

/** Issue 16 #2: clients that flood /ws and read nothing must not grow recbot's memory or stall anyone else. */

let recbot: RecbotProcess | undefined;
afterEach(async () => {
  await recbot?.stop();
  recbot = undefined;
});

const rssMb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;

/**
 * A client that sends `{}` frames as fast as its socket takes them and never reads (its socket is paused, so
 * recbot's replies pile up on recbot's side). Resolves when recbot has cut it off, or after `ms`.
 */
function flood(url: string, ms: number): Promise<{ sent: number; cutOff: boolean }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    let sent = 0;
    let done = false;
    const finish = (cutOff: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      ws.terminate();
      resolve({ sent, cutOff });
    };
    const timer = setTimeout(() => finish(false), ms);
    ws.on("error", () => finish(true));
    ws.on("close", () => finish(true));
    ws.on("open", () => {
      (ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never read
      const burst = () => {
        if (done || ws.readyState !== WebSocket.OPEN) return;
        // Keep the client's own buffer small: what counts is what recbot takes in.
        if (ws.bufferedAmount < 1 << 20) for (let i = 0; i < 2000; i++, sent++) ws.send("{}");
        setImmediate(burst);
      };
      burst();
    });
  });
}

describe("a /ws client that floods and does not read", () => {
  it("is cut off while a werift publisher records beside it: the recording keeps its frames, /healthz answers, memory stays bounded", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-flood-"));
    recbot = await startRecbotProcess({ RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir, RECBOT_ICE_ADDRESSES: "127.0.0.1" });
    const { url, pid } = recbot;
    const ws = url.replace("http", "ws") + "/ws";
    const clip = await makeClip({ seconds: 8 });
    const baseline = rssMb(pid);

    const health: number[] = [];
    let healthFailures = 0;
    let peakRss = baseline;
    let stop = false;
    const watch = (async () => {
      while (!stop) {
        const t0 = performance.now();
        try {
          const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(3000) });
          if (res.status !== 200) healthFailures++;
          await res.arrayBuffer();
          health.push(performance.now() - t0);
        } catch {
          healthFailures++;
        }
        peakRss = Math.max(peakRss, rssMb(pid));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    let floods: Promise<{ sent: number; cutOff: boolean }[]> | undefined;
    const result = await publish({
      url: ws, clip,
      onSending: () => {
        floods = Promise.all([1, 2, 3].map(() => flood(ws, 6000)));
      },
    });
    const flooders = await floods!;
    stop = true;
    await watch;

    const frames = Number(stream(await probe(path.join(dir, result.finished.file)), "video").nb_read_frames);
    // The figures go with every assertion, so a failure shows them all.
    const figures =
      `flood: sent ${flooders.map((f) => f.sent).join("/")} messages; /healthz max ${Math.max(...health).toFixed(0)} ms over ${health.length} calls, ${healthFailures} failed; ` +
        `RSS ${baseline.toFixed(0)} → peak ${peakRss.toFixed(0)} MB; video frames ${frames}/${result.framesSent.video}; flooders cut off: ${flooders.filter((f) => f.cutOff).length}/3`;
    // Every flooder was cut off by recbot (before the fix: never, while recbot's heap grew by GBs).
    expect(flooders.map((f) => f.cutOff), figures).toEqual([true, true, true]);
    const cutOffs = recbot.logs.filter((l) => l.msg === "websocket cut off");
    expect(cutOffs.length, figures).toBe(3);
    expect(cutOffs.every((l) => l.reason === "rate_limited" || l.reason === "slow_consumer")).toBe(true);
    // /healthz answered every time (a liveness bound, not a performance figure).
    expect(healthFailures, figures).toBe(0);
    expect(peakRss - baseline, figures).toBeLessThan(150);

    // The legitimate recording is whole.
    expect(result.finished.state).toBe("finished");
    const p = await probe(path.join(dir, result.finished.file));
    expect(frames / result.framesSent.video, figures).toBeGreaterThanOrEqual(0.98);
    expect(Math.abs(Number(p.format.duration) - 8) / 8).toBeLessThan(0.05);
    expect(await decodeErrors(path.join(dir, result.finished.file))).toBe("");
  });

  it("a flooding client that reads gets an error and close 1008 naming the limit", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-flood-"));
    recbot = await startRecbotProcess({ RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir, RECBOT_WS_MESSAGES_PER_SECOND: "20" });
    const client = new WsClient(recbot.url.replace("http", "ws") + "/ws");
    await client.opened();
    for (let i = 0; i < 500; i++) client.send("{}");
    expect(await client.closed()).toBe(1008);
    expect(client.closeReason).toBe("rate_limited");
    expect(client.messages).toContainEqual(expect.objectContaining({ type: "error", code: "rate_limited" }));
    // Under the rate, nothing happens: a new client sending 10 messages keeps its socket.
    const calm = new WsClient(recbot.url.replace("http", "ws") + "/ws");
    await calm.opened();
    for (let i = 0; i < 10; i++) calm.send("{}");
    await calm.waitFor(() => calm.messages.filter((m) => m.code === "bad_message").length === 10);
    expect(calm.closeCode).toBeUndefined();
    calm.close();
  });

  it("a client that never reads is closed once wsMaxBufferedBytes of replies wait for it (4008 slow_consumer)", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "recbot-flood-"));
    // The rate limit is lifted to test the other bound alone: the kernel takes a few MB of replies before any wait
    // in recbot, more than a client under the default rate can cause in minutes.
    recbot = await startRecbotProcess({
      RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: dir, RECBOT_WS_MAX_BUFFERED_BYTES: "65536", RECBOT_WS_MESSAGES_PER_SECOND: "1000000",
    });
    const rss0 = rssMb(recbot.pid);
    // A raw client with a tiny receive buffer that reads nothing: recbot's `bad_message` replies pile up.
    const script = path.join(import.meta.dirname, "../helpers/slowWsClient.py");
    const port = new URL(recbot.url).port;
    const out = await new Promise<string>((resolve, reject) =>
      execFile("python3", [script, port], { timeout: 90_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
    const figures = `slow consumer: ${out.trim()}; recbot RSS ${rss0.toFixed(0)} → ${rssMb(recbot.pid).toFixed(0)} MB`;
    expect(out, figures).toMatch(/^cut off after \d+ messages/);
    expect(rssMb(recbot.pid) - rss0, figures).toBeLessThan(100); // before the bound: +2.7 GB in 30 s
    const cutOff = recbot.logs.find((l) => l.msg === "websocket cut off");
    expect(cutOff).toMatchObject({ reason: "slow_consumer" });
  }, 120_000);
});
