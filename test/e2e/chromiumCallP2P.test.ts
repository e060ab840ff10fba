/// <reference lib="dom" />
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { launchChromium, makeCaptureFiles } from "../helpers/browser.ts";
import { meanRgb, saturation, toneDb } from "../helpers/composite.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { openRecbotPage } from "../helpers/pageCall.ts";

/**
 * The seed articles' call, with recbot as the signaling server: two Chromium pages (each its own browser, so each has
 * its own fake camera tone) join one call, connect peer to peer through recbot's relay, and each also publishes to
 * recbot on the same socket. Both sides are recorded and the call is composed into one file.
 */
// Composites run niced (nice 10): on a machine busy with live work they take their time, by design.
describe("two Chromium pages call each other through recbot's relay", { timeout: 240_000 }, () => {
  let recbot: Recbot;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-e2e-p2p-"));
  let base: string;
  const browsers: Browser[] = [];
  const pages: Page[] = [];

  beforeAll(async () => {
    recbot = await createRecbot({ host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn" });
    base = await recbot.listen();
    for (const toneHz of [1000, 600]) {
      const browser = await launchChromium(await makeCaptureFiles({ toneHz }));
      browsers.push(browser);
      const page = await openRecbotPage(browser, base);
      await page.addScriptTag({ type: "module", content: 'import { CallPeers } from "/callPeers.js"; window.CallPeers = CallPeers;' });
      await page.waitForFunction(() => (window as any).CallPeers !== undefined);
      pages.push(page);
    }
  });
  afterAll(async () => {
    for (const b of browsers) await b.close();
    await recbot?.close();
  });

  /** In the page: camera, join + publish to recbot on one socket, then the P2P side (offers to those already there). */
  const joinAndPublish = (page: Page, name: string) =>
    page.evaluate(async ({ wsUrl, name }) => {
      const w = window as any;
      const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 30 }, audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
      const call = new w.RecbotCall({ url: wsUrl, streams: [camera], loopbackOnly: true, join: { callId: "p2p", name } });
      await call.publish();
      const peers = new w.CallPeers({ call, stream: camera, loopbackOnly: true });
      await peers.start();
      w.session = { call, peers, camera };
      return { participantId: call.joined.participantId, others: call.joined.participants.map((p: any) => p.name) };
    }, { wsUrl: base.replace("http", "ws") + "/ws", name });

  /** Waits in the page until the other participant's video is being decoded over the P2P connection. */
  const waitForPeerMedia = (page: Page) =>
    page.evaluate(async () => {
      const { peers } = (window as any).session;
      for (let i = 0; i < 150; i++) {
        const stats = Object.values(await peers.receiverStats()) as any[];
        if (stats.length && stats.every((s) => s.state === "connected" && s.framesDecoded > 30 && s.audioPackets > 50)) return stats;
        await new Promise((r) => setTimeout(r, 100));
      }
      return Object.values(await peers.receiverStats());
    });

  it("connects P2P through the relay, records both sides, and composes two tiles with both tones", async () => {
    const alice = await joinAndPublish(pages[0], "Alice");
    const bob = await joinAndPublish(pages[1], "Bob");
    expect(alice.others).toEqual([]);
    expect(bob.others).toEqual(["Alice"]);
    const [seenByAlice, seenByBob] = await Promise.all(pages.map(waitForPeerMedia));
    const figures = `[p2p] Alice receives ${JSON.stringify(seenByAlice)}, Bob receives ${JSON.stringify(seenByBob)}`;
    for (const s of [...seenByAlice, ...seenByBob] as any[]) {
      expect(s.state, figures).toBe("connected");
      expect(s.framesDecoded, figures).toBeGreaterThan(30);
    }
    // The P2P pair is between the two browsers, not through recbot: each page's P2P connection has its own pair.
    await new Promise((r) => setTimeout(r, 3000));
    for (const page of pages) {
      await page.evaluate(async () => {
        const { call, peers, camera } = (window as any).session;
        peers.close();
        camera.getTracks().forEach((t: MediaStreamTrack) => t.stop());
        await call.stop();
      });
    }

    let call: any;
    for (let i = 0; i < 480; i++) {
      call = await (await fetch(`${base}/calls/p2p`)).json();
      if (["finished", "failed"].includes(call.composite.state)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(call.composite.state).toBe("finished");
    expect(call.participants.map((p: any) => p.name)).toEqual(["Alice", "Bob"]);
    for (const p of call.participants) {
      expect(p.recordings).toHaveLength(1);
      expect(p.recordings[0].state).toBe("finished");
      expect(await decodeErrors(path.join(dir, p.recordings[0].file))).toBe("");
    }
    const file = path.join(dir, call.composite.file);
    const info = await probe(file);
    expect(stream(info, "video").codec_name).toBe("h264");
    expect(stream(info, "audio").codec_name).toBe("aac");
    expect(await decodeErrors(file)).toBe("");
    // Both publishing from ~2 s on: two tiles side by side, each showing a palette colour (4:3 pictures in 640x720
    // tiles: the band above them is the grey tile).
    const t = Math.min(3.5, Number(info.format.duration) - 1);
    const [left, right, top] = await Promise.all([
      meanRgb(file, t, { x: 160, y: 280, w: 320, h: 160 }), meanRgb(file, t, { x: 800, y: 280, w: 320, h: 160 }), meanRgb(file, t, { x: 0, y: 0, w: 1280, h: 40 }),
    ]);
    const [db1000, db600, dbOff] = await Promise.all([toneDb(file, 1000, 1.5, t + 0.5), toneDb(file, 600, 1.5, t + 0.5), toneDb(file, 2500, 1.5, t + 0.5)]);
    const figures2 = `[p2p] composite ${call.composite.durationS} s at ${call.composite.cpuSpeed}x per core: tiles rgb ${left} / ${right}, top ${top}; 1000 Hz ${db1000.toFixed(1)} dB, 600 Hz ${db600.toFixed(1)} dB, 2500 Hz ${dbOff.toFixed(1)} dB`;
    expect(saturation(left), figures2).toBeGreaterThan(150);
    expect(saturation(right), figures2).toBeGreaterThan(150);
    expect(saturation(top), figures2).toBeLessThan(30);
    expect(db1000, figures2).toBeGreaterThan(dbOff + 20);
    expect(db600, figures2).toBeGreaterThan(dbOff + 20);
  });
});
