import path from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CaptureFiles } from "../helpers/browser.ts";
import { startBrowserLab, type BrowserLab } from "../helpers/browserLab.ts";
import { pageCall } from "../helpers/pageCall.ts";
import { expectGoodRecording, verifyFile } from "../helpers/verify.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

const SECONDS = 4;

describe("recbot as the caller: it offers, Chromium answers", () => {
  let lab: BrowserLab;
  let page: Page;
  let files: CaptureFiles;
  let dir: string;
  let wsUrl: string;

  beforeAll(async () => {
    lab = await startBrowserLab("call");
    ({ page, files, dir, wsUrl } = lab);
  });
  afterAll(() => lab?.close());

  it.each([
    { name: "recbot's preference (VP8 + Opus)", callCodecs: undefined, video: "vp8", audio: "opus", container: "webm" },
    { name: "H.264 + PCMA asked for in the call message", callCodecs: ["h264", "pcma"], video: "h264", audio: "pcm_alaw", container: "mkv" },
    { name: "VP9 + Opus asked for in the call message", callCodecs: ["vp9", "opus"], video: "vp9", audio: "opus", container: "webm" },
  ])("records what Chromium sends in its answer: $name", async (c) => {
    const result = await pageCall(page, { wsUrl, role: "call", callCodecs: c.callCodecs, seconds: SECONDS });
    expect(result.errors, `answer:\n${result.localSdp}\nstats ${JSON.stringify(result.stats)}`).toEqual([]);
    expect(result.remoteSdp).toMatch(/^a=recvonly/m);
    expect(result.localSdp).toMatch(/^a=sendonly/m);
    expect(result.recordings).toHaveLength(1);
    const rec = result.recordings[0];
    expect(rec.streamId).toBe(result.streamIds[0]);
    expect(path.extname(rec.file)).toBe(`.${c.container}`);
    const r = await verifyFile(path.join(dir, rec.file), result, result.streamIds[0], files);
    expect(r.videoCodec).toBe(c.video);
    expect(r.audioCodec).toBe(c.audio);
    expectGoodRecording(r, files, { audio: true, seconds: SECONDS });
  });

  it("refuses an answer when no call is waiting, and a second call on the same socket", async () => {
    const client = new WsClient(wsUrl);
    await client.opened();
    client.send({ type: "answer", sdp: "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\n" });
    expect(await client.waitFor((m) => m.type === "error")).toMatchObject({ code: "unexpected_answer" });
    client.send({ type: "call", video: 2, audio: 0 });
    const offer = await client.waitFor((m) => m.type === "offer");
    expect(offer.sdp.match(/^m=video/gm)).toHaveLength(2);
    expect(offer.sdp).not.toMatch(/^m=audio/m);
    expect(offer.sdp.match(/^a=recvonly/gm)).toHaveLength(2);
    client.send({ type: "call" });
    expect(await client.waitFor((m) => m.type === "error" && m.code === "duplicate_offer")).toBeTruthy();
    client.close();
    const other = new WsClient(wsUrl);
    await other.opened();
    other.send({ type: "call", codecs: ["h265"] });
    expect(await other.waitFor((m) => m.type === "error")).toMatchObject({ code: "bad_message" });
    other.send({ type: "call", codecs: ["opus"] });
    expect(await other.waitFor((m) => m.type === "error" && m.code === "unsupported_codec")).toMatchObject({ message: expect.stringMatching(/no video codec/) });
    other.close();
  });
});
