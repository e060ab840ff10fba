import { spawn } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeClip } from "../../src/testkit/clip.ts";
import { decodeErrors, probe } from "../../src/testkit/probe.ts";
import { clientPeer } from "../../src/testkit/peer.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";
import { serverPerTest } from "../helpers/testServer.ts";

const { start } = serverPerTest("limits");

function sidecars(dir: string): any[] {
  return readdirSync(dir).filter((f) => f.endsWith(".json")).map((f) => JSON.parse(readFileSync(path.join(dir, f), "utf8")));
}

describe("limits and timeouts", () => {
  it("refuses a socket beyond maxSessions with too_many_sessions and close 1013, and accepts again after one leaves", async () => {
    const { ws } = await start({ maxSessions: 1 });
    const first = new WsClient(ws);
    await first.opened();
    const second = new WsClient(ws);
    expect(await second.closed()).toBe(1013);
    expect(second.messages[0]).toMatchObject({ type: "error", code: "too_many_sessions" });
    first.close();
    await first.closed();
    await new Promise((r) => setTimeout(r, 100));
    const third = new WsClient(ws);
    await third.opened();
    await new Promise((r) => setTimeout(r, 200));
    expect(third.closeCode).toBeUndefined();
    third.close();
  });

  it("closes a silent socket, and a peer that never completes ICE, with connect_timeout", async () => {
    const { base, ws } = await start({ connectTimeoutSeconds: 1 });
    const silent = new WsClient(ws);
    expect(await silent.closed()).toBe(4001);
    expect(silent.messages).toContainEqual(expect.objectContaining({ type: "error", code: "connect_timeout" }));

    // Offer, get an answer, but never apply it: ICE cannot complete.
    const pc = clientPeer();
    pc.addTransceiver("video", { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    const stuck = new WsClient(ws);
    await stuck.opened();
    stuck.send({ type: "offer", sdp: pc.localDescription!.sdp });
    await stuck.waitFor((m) => m.type === "answer");
    expect(await stuck.closed()).toBe(4001);
    expect(stuck.messages).toContainEqual(expect.objectContaining({ type: "error", code: "connect_timeout" }));
    await pc.close();
    const health = (await (await fetch(`${base}/healthz`)).json()) as { sessions: number };
    expect(health.sessions).toBe(0);
  });

  it("finalizes at maxRecordingSeconds, tells the client, and /metrics counts what happened", async () => {
    const { base, ws, dir } = await start({ maxRecordingSeconds: 2 });
    const clip = await makeClip({ seconds: 4 });
    const result = await publish({ url: ws, clip });
    expect(result.client.messages).toContainEqual(expect.objectContaining({ type: "error", code: "max_duration" }));
    expect(result.finished.state).toBe("finished");
    const duration = Number((await probe(path.join(dir, result.finished.file))).format.duration);
    expect(duration).toBeGreaterThan(1.9);
    expect(duration).toBeLessThan(3.2);
    expect(await decodeErrors(path.join(dir, result.finished.file))).toBe("");

    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value("recbot_rtp_packets_received_total")).toBeGreaterThan(100);
    expect(value("recbot_frames_written_total")).toBeGreaterThan(50);
    expect(value("recbot_plis_sent_total")).toBeGreaterThanOrEqual(1);
    expect(value("recbot_sessions_active")).toBe(0);
    expect(text).toMatch(/recbot_sessions_closed_total\{reason="max_duration"\} 1/);
    expect(text).toMatch(/recbot_recordings_total\{state="finished"\} 1/);
    expect(text).toMatch(/recbot_nodejs_eventloop_lag_seconds/);
  });

  it("finalizes the recording of a peer that vanishes without bye (frozen process) and reports how long it took", async () => {
    const { dir, ws } = await start({});
    const child = spawn(process.execPath, [path.join(import.meta.dirname, "../helpers/publishProcess.ts"), ws, "60"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve) => child.stdout.on("data", (d) => String(d).includes("clip ready") && resolve()));
      // Wait until the recording has started, then freeze the peer: its TCP socket stays open, its UDP goes silent.
      const deadline = Date.now() + 20_000;
      while (!sidecars(dir).some((m) => m.state === "recording") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 1000));
      const frozenAt = Date.now();
      child.kill("SIGSTOP");
      while (!sidecars(dir).some((m) => m.state === "finished") && Date.now() - frozenAt < 40_000) await new Promise((r) => setTimeout(r, 100));
      const detectedMs = Date.now() - frozenAt;
      const meta = sidecars(dir).find((m) => m.state === "finished");
      expect(meta, "recording was not finalized within 40 s of the peer vanishing").toBeDefined();
      expect(detectedMs).toBeLessThan(30_000);
      expect(await decodeErrors(meta.file)).toBe("");
    } finally {
      child.kill("SIGKILL");
    }
  });
});
