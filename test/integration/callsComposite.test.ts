import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRecbot, type Recbot } from "../../src/index.ts";
import { wallMs } from "../../src/media/clock.ts";
import { makeClip } from "../../src/testkit/clip.ts";
import { beepsAt, flashesIn, lumaGrid, meanRgb, pairOffsetsMs, toneDb } from "../helpers/composite.ts";
import { decodeErrors, probe, stream } from "../../src/testkit/probe.ts";
import { publish } from "../../src/testkit/publisher.ts";
import { verifyRecording } from "../helpers/verifyRecording.ts";

/**
 * Calls recorded by werift participants (each joins on its socket, then publishes with an offer), composed into one
 * file; the composite is checked by decoding it: tiles, names' places, tones, flash and beep times.
 */
// Composites run niced (nice 10): on a machine busy with live work they take their time, by design.
describe("call composite from werift participants", { timeout: 240_000 }, () => {
  let recbot: Recbot;
  const dir = mkdtempSync(path.join(tmpdir(), "recbot-composite-"));
  const dir60 = mkdtempSync(path.join(tmpdir(), "recbot-composite60-"));
  let base: string;
  let wsUrl: string;
  /** The same at compositeFps 60 (for the sync measurement at both rates). */
  let recbot60: Recbot;
  let base60: string;
  const webhooks: any[] = [];
  let hookServer: import("node:http").Server;

  beforeAll(async () => {
    const { createServer } = await import("node:http");
    hookServer = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        webhooks.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", () => r()));
    const hookPort = (hookServer.address() as import("node:net").AddressInfo).port;
    recbot = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir, iceAddresses: ["127.0.0.1"], logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn",
      webhookUrl: `http://127.0.0.1:${hookPort}/hook`,
    });
    base = await recbot.listen();
    wsUrl = base.replace("http", "ws") + "/ws";
    recbot60 = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: dir60, iceAddresses: ["127.0.0.1"],
      logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn", compositeFps: 60,
    });
    base60 = await recbot60.listen();
  });
  afterAll(async () => {
    await recbot?.close();
    await recbot60?.close();
    hookServer?.close();
  });

  async function finishedCall(callId: string, timeoutMs = 120_000, at = base): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const call = await (await fetch(`${at}/calls/${callId}`)).json();
      if (["finished", "failed"].includes(call.composite.state)) return call;
      if (Date.now() > deadline) throw new Error(`composite not done: ${JSON.stringify(call.composite)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  it("two participants: both recorded with the call on their sidecars; the composite has two tiles and both tones", async () => {
    const [clipA, clipB] = await Promise.all([makeClip({ seconds: 5, tone: 440 }), makeClip({ seconds: 5, tone: 1200 })]);
    const [a, b] = await Promise.all([
      publish({ url: wsUrl, clip: clipA, join: { callId: "duo", name: "Alice" } }),
      publish({ url: wsUrl, clip: clipB, join: { callId: "duo", name: "Bob" } }),
    ]);
    for (const r of [a, b]) await verifyRecording(r, { dir });
    expect(a.finished.file).not.toBe(b.finished.file);

    const call = await finishedCall("duo");
    expect(call.composite.state).toBe("finished");
    expect(call.participants.map((p: any) => p.name).sort()).toEqual(["Alice", "Bob"]);
    for (const p of call.participants) {
      expect(p.recordings).toHaveLength(1);
      expect(p.recordings[0].state).toBe("finished");
      expect(p.joinedAt < p.leftAt).toBe(true);
    }
    // The recordings API carries the call on each participant's sidecar.
    const recs = await (await fetch(`${base}/recordings?callId=duo`)).json();
    const streams = recs.items.filter((r: any) => r.kind !== "composite");
    expect(streams.map((r: any) => r.call.participantName).sort()).toEqual(["Alice", "Bob"]);
    for (const r of streams) expect(r.call.participantId).toMatch(/^p_/);
    const composite = recs.items.find((r: any) => r.kind === "composite");
    expect(composite.id).toBe(call.composite.recordingId);
    expect(composite.state).toBe("finished");
    const download = await fetch(`${base}/recordings/${composite.id}/file`);
    expect(download.headers.get("content-type")).toBe("video/mp4");
    expect(Number(download.headers.get("content-length"))).toBe(composite.sizeBytes);
    await download.arrayBuffer();

    expect(call.composite.file).toBe(`${call.composite.recordingId}.mp4`); // a name, never a server path
    const file = path.join(dir, call.composite.file);
    const p = await probe(file);
    expect(p.format.format_name).toContain("mp4");
    expect(stream(p, "video").codec_name).toBe("h264");
    expect([stream(p, "video").width, stream(p, "video").height]).toEqual([1280, 720]);
    expect(stream(p, "audio").codec_name).toBe("aac");
    expect(await decodeErrors(file)).toBe("");
    // Index at the front (+faststart): the moov box comes before mdat.
    const head = (await import("node:fs")).readFileSync(file).subarray(0, 64 * 1024).toString("latin1");
    expect(head.indexOf("moov")).toBeGreaterThan(0);
    expect(head.indexOf("moov")).toBeLessThan(head.indexOf("mdat") === -1 ? Infinity : head.indexOf("mdat"));

    // Two side-by-side tiles (640x720 each, 320x240 video scaled to 640x480 in the middle): the top band is tile
    // background, the middle band is picture in both halves.
    const grid = await lumaGrid(file, 3, 16, 9);
    const mean = (cells: number[]) => cells.reduce((s, x) => s + x, 0) / cells.length;
    const left = mean(grid.slice(3, 6).flatMap((r) => r.slice(1, 7)));
    const right = mean(grid.slice(3, 6).flatMap((r) => r.slice(9, 15)));
    const top = mean(grid[0]);
    const figures = `[composite duo] luma left ${left.toFixed(0)}, right ${right.toFixed(0)}, top band ${top.toFixed(0)}, speed ${call.composite.speed}x`;
    expect(left, figures).toBeGreaterThan(60);
    expect(right, figures).toBeGreaterThan(60);
    expect(top, figures).toBeLessThan(50);
    // Both tones are in the mix.
    const mid = [1.5, 3.5] as const;
    const [t440, t1200, tOff] = await Promise.all([toneDb(file, 440, ...mid), toneDb(file, 1200, ...mid), toneDb(file, 3000, ...mid)]);
    const figures2 = `[composite duo] 440 Hz ${t440.toFixed(1)} dB, 1200 Hz ${t1200.toFixed(1)} dB, 3000 Hz ${tOff.toFixed(1)} dB`;
    expect(t440, figures2).toBeGreaterThan(tOff + 20);
    expect(t1200, figures2).toBeGreaterThan(tOff + 20);

    await new Promise((r) => setTimeout(r, 300));
    const events = webhooks.map((w) => w.event);
    expect(events).toContain("call.finished");
    expect(events).toContain("composite.finished");
    expect(webhooks.find((w) => w.event === "composite.finished").call.composite.recordingId).toBe(call.composite.recordingId);
  });

  it("a late joiner appears when they joined: one full tile first, two tiles after", async () => {
    const [clipA, clipB] = await Promise.all([makeClip({ seconds: 7 }), makeClip({ seconds: 3 })]);
    let joinedA = 0;
    const first = publish({ url: wsUrl, clip: clipA, join: { callId: "late", name: "Early" }, onJoined: () => (joinedA = wallMs()) });
    await new Promise((r) => setTimeout(r, 3000));
    const lateAt = wallMs();
    const second = publish({ url: wsUrl, clip: clipB, join: { callId: "late", name: "Late" } });
    await Promise.all([first, second]);
    const call = await finishedCall("late");
    expect(call.composite.state).toBe("finished");
    const lateS = (lateAt - joinedA) / 1000;
    const file = path.join(dir, call.composite.file);
    const before = await lumaGrid(file, lateS - 1);
    const after = await lumaGrid(file, lateS + 2.5);
    // Alone: one tile over the whole canvas, its picture (4:3 in 16:9) reaches the top band in the middle.
    const mean = (cells: number[]) => cells.reduce((s, x) => s + x, 0) / cells.length;
    const figures3 = `[composite late] late joiner at ${lateS.toFixed(2)} s; top band before ${mean(before[0].slice(4, 12)).toFixed(0)}, after ${mean(after[0].slice(4, 12)).toFixed(0)}`;
    expect(mean(before[0].slice(4, 12)), figures3).toBeGreaterThan(60);
    expect(mean(after[0].slice(4, 12)), figures3).toBeLessThan(50);
    expect(mean(after.slice(3, 6).flatMap((r) => r.slice(9, 15))), figures3).toBeGreaterThan(60);
  });

  // At 30 fps each video frame is shown at the nearest output frame: a participant's A/V moves by up to ±16.7 ms on top
  // of the recording's own; at 60 fps by up to ±8.3 ms. Cross-participant limits are the same at both rates.
  it.each([
    { fps: 30, avLimitMs: 37 }, // 20 + half a 30 fps frame
    { fps: 60, avLimitMs: 20 },
  ])("sync at $fps fps: two participants flashing and beeping at the same instants line up (±40 ms), each A/V within ±$avLimitMs ms", async ({ fps, avLimitMs }) => {
    const at = fps === 60 ? base60 : base;
    const url = at.replace("http", "ws") + "/ws";
    const [clipA, clipB] = await Promise.all([
      makeClip({ seconds: 8, pattern: "flash", flashFrames: 3, beepHz: 1500, gop: 30 }),
      makeClip({ seconds: 8, pattern: "flash", flashFrames: 3, beepHz: 3500, gop: 30 }),
    ]);
    // Both start sending on the same whole second of the wall clock, 2.5 s from now (time to connect).
    const startAtMs = Math.ceil((wallMs() + 2500) / 1000) * 1000;
    const callId = `sync${fps}`;
    await Promise.all([
      publish({ url, clip: clipA, join: { callId, name: "A" }, startAtMs }),
      publish({ url, clip: clipB, join: { callId, name: "B" }, startAtMs }),
    ]);
    const call = await finishedCall(callId, 120_000, at);
    expect(call.composite.state).toBe("finished");
    const file = path.join(fps === 60 ? dir60 : dir, call.composite.file);
    const order = call.participants.map((p: any) => p.name);
    const tileOf = (name: string) => (order.indexOf(name) === 0 ? { x: 160, y: 240, w: 320, h: 240 } : { x: 800, y: 240, w: 320, h: 240 });
    const [flashA, flashB, beepA, beepB] = await Promise.all([flashesIn(file, tileOf("A")), flashesIn(file, tileOf("B")), beepsAt(file, 1500), beepsAt(file, 3500)]);
    const flashToFlash = pairOffsetsMs(flashA, flashB);
    const beepToBeep = pairOffsetsMs(beepA, beepB);
    const avA = pairOffsetsMs(flashA, beepA);
    const avB = pairOffsetsMs(flashB, beepB);
    const fmt = (xs: number[]) => `[${xs.map((x) => x.toFixed(0)).join(", ")}]`;
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    const figures4 = `[composite sync ${fps} fps] flashes A ${flashA.length} B ${flashB.length}, beeps A ${beepA.length} B ${beepB.length}; ` +
      `flash B−A ${fmt(flashToFlash)} ms, beep B−A ${fmt(beepToBeep)} ms, A/V A ${fmt(avA)} (mean ${mean(avA).toFixed(1)}) ms, A/V B ${fmt(avB)} (mean ${mean(avB).toFixed(1)}) ms`;
    expect(flashToFlash.length, figures4).toBeGreaterThanOrEqual(6);
    expect(beepToBeep.length, figures4).toBeGreaterThanOrEqual(6);
    for (const d of [...flashToFlash, ...beepToBeep]) expect(Math.abs(d), figures4).toBeLessThanOrEqual(40);
    expect(Math.abs(mean(avA)), figures4).toBeLessThanOrEqual(avLimitMs);
    expect(Math.abs(mean(avB)), figures4).toBeLessThanOrEqual(avLimitMs);
  });

  it("three participants, one leaves and rejoins; a composite asked for mid-call reports progress on the open sockets", async () => {
    const [clipA, clipB, clipC] = await Promise.all([makeClip({ seconds: 9 }), makeClip({ seconds: 2.5 }), makeClip({ seconds: 6 })]);
    let t0 = 0;
    const alice = publish({ url: wsUrl, clip: clipA, join: { callId: "trio", name: "Alice" }, onJoined: () => (t0 = wallMs()) });
    const since = () => (wallMs() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const bob1 = publish({ url: wsUrl, clip: clipB, join: { callId: "trio", name: "Bob" } });
    await new Promise((r) => setTimeout(r, 200));
    const carol = publish({ url: wsUrl, clip: clipC, join: { callId: "trio", name: "Carol" } });
    await bob1;
    const bobLeft = since();
    const bob2 = publish({ url: wsUrl, clip: clipB, join: { callId: "trio", name: "Bob" } });
    // Mid-call: compose what there is so far; Alice's socket (still open) hears the progress.
    await new Promise((r) => setTimeout(r, 1000));
    const live = await (await fetch(`${base}/calls/trio/composite`, { method: "POST" })).json();
    expect(["waiting", "queued"]).toContain(live.composite.state);
    expect((await fetch(`${base}/calls/trio/composite`, { method: "POST" })).status).toBe(409);
    const [a] = await Promise.all([alice, bob2, carol]);
    const compositeMessages = a.client.messages.filter((m: any) => m.type === "composite");
    const figures5 = `[composite trio] Alice's socket: ${compositeMessages.map((m: any) => m.state + (m.percent !== undefined ? ` ${m.percent}%` : "")).join(", ")}`;
    expect(compositeMessages.some((m: any) => m.state === "running" && m.percent >= 0), figures5).toBe(true);

    // After the call: the mid-call composite, then the final one (a second file) covering everyone.
    let call: any;
    let composites: any[] = [];
    for (let i = 0; i < 480; i++) {
      call = await (await fetch(`${base}/calls/trio`)).json();
      composites = (await (await fetch(`${base}/recordings?callId=trio`)).json()).items.filter((r: any) => r.kind === "composite");
      if (call.state === "ended" && ["finished", "failed"].includes(call.composite.state) && composites.length === 2) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const figures6 = `[composite trio] composites: ${composites.map((r: any) => `${r.state} ${r.durationMs} ms`).join(", ")}`;
    expect(composites.map((r: any) => r.state), figures6).toEqual(["finished", "finished"]);
    expect(call.composite.state, figures6).toBe("finished");
    expect(call.participants.map((p: any) => p.name), figures6).toEqual(["Alice", "Bob", "Carol", "Bob"]);
    const [bobFirst, bobAgain] = call.participants.filter((p: any) => p.name === "Bob");
    expect(bobFirst.id, figures6).not.toBe(bobAgain.id);
    expect(bobFirst.leftAt <= bobAgain.joinedAt, figures6).toBe(true);
    for (const p of call.participants) expect(p.recordings.length, figures6).toBe(1);
    // While Alice, Carol and the returning Bob are present: three tiles, two on top and one centred below.
    const t = bobLeft + 1.8;
    const grid = await lumaGrid(path.join(dir, call.composite.file), t, 16, 9);
    // Mean luma over grid cells (80 px squares): rows [r0, r1), columns [c0, c1).
    const region = (r0: number, r1: number, c0: number, c1: number) => {
      const cells = grid.slice(r0, r1).flatMap((row) => row.slice(c0, c1));
      return cells.reduce((sum, x) => sum + x, 0) / cells.length;
    };
    const topLeft = region(0, 4, 1, 7);
    const bottomCorner = region(5, 9, 0, 2);
    const bottomMiddle = region(5, 9, 5, 11);
    const figures7 = `[composite trio] at ${t.toFixed(1)} s: top-left tile ${topLeft.toFixed(0)}, bottom-left corner ${bottomCorner.toFixed(0)}, bottom middle tile ${bottomMiddle.toFixed(0)}`;
    expect(topLeft, figures7).toBeGreaterThan(60);
    expect(bottomMiddle, figures7).toBeGreaterThan(60);
    expect(bottomCorner, figures7).toBeLessThan(30);
  });

  it("video switched off mid-call (no video packets for 2 s, audio goes on): the still tile shows in the gap, video around it", async () => {
    // Keyframe every second: video comes back on a keyframe at 4 s.
    const clip = await makeClip({ seconds: 6, gop: 30 });
    let joinedAt = 0;
    let sendingAt = 0;
    const result = await publish({
      url: wsUrl, clip, join: { callId: "camoff", name: "Vera" }, videoPause: [2, 4],
      onJoined: () => (joinedAt = wallMs()), onSending: () => (sendingAt = wallMs()),
    });
    expect(result.finished.state).toBe("finished");
    const call = await finishedCall("camoff");
    expect(call.composite.state).toBe("finished");
    const file = path.join(dir, call.composite.file);
    expect(await decodeErrors(file)).toBe("");
    const sendS = (sendingAt - joinedAt) / 1000;
    // One tile over the whole canvas: the 4:3 picture spans x 160–1120. Look inside it, above the name.
    const look = async (t: number) => {
      const grid = await lumaGrid(file, t, 16, 9);
      const cells = grid.slice(1, 8).flatMap((row) => row.slice(3, 13));
      const rgb = await meanRgb(file, t, { x: 240, y: 80, w: 800, h: 560 });
      return { spread: Math.max(...cells) - Math.min(...cells), rgb };
    };
    const [before, inGap, after] = await Promise.all([look(sendS + 1), look(sendS + 3), look(sendS + 5)]);
    const figures8 = `[composite camoff] sending from ${sendS.toFixed(2)} s; luma spread before ${before.spread}, in gap ${inGap.spread}, after ${after.spread}; ` +
      `rgb in gap ${inGap.rgb.join("/")}`;
    // The test pattern: bars of many lumas. The still tile: one flat colour (0x2a3038 in layout.ts).
    expect(before.spread, figures8).toBeGreaterThan(40);
    expect(after.spread, figures8).toBeGreaterThan(40);
    expect(inGap.spread, figures8).toBeLessThan(6);
    inGap.rgb.forEach((c, i) => expect(Math.abs(c - [0x2a, 0x30, 0x38][i]), figures8).toBeLessThan(10));
    // Audio went on through the gap.
    const [tone, off] = await Promise.all([toneDb(file, 440, sendS + 2.3, sendS + 3.7), toneDb(file, 3000, sendS + 2.3, sendS + 3.7)]);
    expect(tone, `${figures8}; 440 Hz ${tone.toFixed(1)} dB, 3000 Hz ${off.toFixed(1)} dB`).toBeGreaterThan(off + 20);
  });

  it("with session workers (workers: 2) the participant's sidecar still carries the call, and the call is composed", async () => {
    const workers = await createRecbot({
      host: "127.0.0.1", port: 0, recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-composite-workers-")), iceAddresses: ["127.0.0.1"],
      logLevel: (process.env.RECBOT_TEST_LOG as "info") ?? "warn", workers: 2,
    });
    try {
      const at = await workers.listen();
      const result = await publish({ url: at.replace("http", "ws") + "/ws", clip: await makeClip({ seconds: 3 }), join: { callId: "threads", name: "Wendy" } });
      expect(result.finished.state).toBe("finished");
      const call = await finishedCall("threads", 120_000, at);
      expect(call.composite.state).toBe("finished");
      const rec = await (await fetch(`${at}/recordings/${result.finished.recordingId}`)).json();
      expect(rec.call).toMatchObject({ callId: "threads", participantName: "Wendy", participantId: call.participants[0].id });
      expect(rec.originMs).toBeGreaterThan(Date.now() - 120_000);
      expect(call.participants[0].recordings.map((r: any) => r.id)).toEqual([rec.id]);
    } finally {
      await workers.close();
    }
  });
});
