import { describe, expect, it } from "vitest";
import { LAYER_STALE_MS, LayerSelector, type LayerPreference } from "./layerSelector.ts";
import type { Frame } from "./types.ts";

const SIZES: Record<string, [number, number]> = { q: [160, 90], h: [320, 180], f: [640, 360] };

/** A VP8 frame: keyframes carry the RFC 6386 header with the layer's size; the first byte says which layer. */
function frame(rid: string, keyframe: boolean, ptsMs: number): Frame {
  const data = Buffer.alloc(12);
  data[0] = keyframe ? 0x10 : 0x11;
  if (keyframe) {
    data.set([0x9d, 0x01, 0x2a], 3);
    data.writeUInt16LE(SIZES[rid][0], 6);
    data.writeUInt16LE(SIZES[rid][1], 8);
  }
  data[11] = rid.charCodeAt(0);
  return { kind: "video", codec: "vp8", keyframe, data, ptsMicros: ptsMs * 1000 };
}

function setup(preference: LayerPreference = "highest") {
  const written: { rid: string; keyframe: boolean; ptsMs: number }[] = [];
  const requests: string[] = [];
  const switches: string[] = [];
  /** Layers asked for a keyframe (PLI): like a sender, each answers with one in its next frame. */
  const asked = new Set<string>();
  const selector = new LayerSelector(["q", "h", "f"], preference, {
    frame: (f) => written.push({ rid: String.fromCharCode(f.data[11]), keyframe: f.keyframe, ptsMs: f.ptsMicros / 1000 }),
    requestKeyframe: (rid) => (requests.push(rid), asked.add(rid)),
    switched: (rid) => switches.push(rid),
  });
  /** Sends a frame of each listed layer every 33 ms from `fromMs` to `toMs`: keyframes where `key` says or when asked. */
  const send = (rids: string[], fromMs: number, toMs: number, key: (rid: string, t: number) => boolean) => {
    for (let t = fromMs; t < toMs; t += 33) {
      for (const rid of rids) selector.push(rid, frame(rid, key(rid, t) || asked.delete(rid), t), t);
      selector.poll(t);
    }
  };
  const flush = () => selector.flush();
  return { selector, written, requests, switches, send, flush };
}

describe("LayerSelector: one simulcast layer into the file, switching only at keyframes", () => {
  it("records the largest layer by default, nothing of the others", () => {
    const { written, switches, send, flush } = setup();
    send(["q", "h", "f"], 0, 1000, (_rid, t) => t === 0);
    flush();
    expect(switches).toEqual(["f"]);
    expect(new Set(written.map((w) => w.rid))).toEqual(new Set(["f"]));
    expect(written[0].keyframe).toBe(true);
    expect(written).toHaveLength(31);
  });

  it.each([
    ["lowest", "q"],
    ["h", "h"],
    ["no-such-rid", "f"],
  ])("preference %s records layer %s", (preference, rid) => {
    const { written, send } = setup(preference);
    send(["q", "h", "f"], 0, 500, (_r, t) => t === 0);
    expect(new Set(written.map((w) => w.rid))).toEqual(new Set([rid]));
  });

  it("when the recorded layer stops, asks the next for a keyframe and switches there; back to the top when it returns", () => {
    const { written, requests, switches, send } = setup();
    send(["q", "h", "f"], 0, 1000, (_r, t) => t === 0);
    // f stops at 1 s; h sends a keyframe only when asked.
    send(["q", "h"], 1000, 2000, () => false);
    expect(requests).toEqual(["h"]);
    const firstH = written.findIndex((w) => w.rid === "h");
    expect(written[firstH].keyframe).toBe(true);
    // No frame of h before its keyframe, no gap longer than the stale time plus a frame or two.
    expect(written[firstH].ptsMs - written[firstH - 1].ptsMs).toBeLessThanOrEqual(LAYER_STALE_MS + 100);
    // f returns at 2 s with a keyframe (an encoder that restarts sends one).
    send(["q", "h", "f"], 2000, 2500, (rid, t) => rid === "f" && t === 2000);
    expect(switches).toEqual(["f", "h", "f"]);
    const back = written.findIndex((w, i) => i > firstH && w.rid === "f");
    expect(written[back]).toMatchObject({ rid: "f", keyframe: true, ptsMs: 2000 });
    // Timestamps only move forward across both switches.
    expect(written.every((w, i) => i === 0 || w.ptsMs > written[i - 1].ptsMs)).toBe(true);
  });

  it("two layers' frames of one instant a millisecond apart (each placed by its own reports) count as one picture", () => {
    const { written, switches, selector } = setup();
    selector.push("h", frame("h", true, 0), 0);
    selector.push("f", frame("f", true, 1), 0);
    selector.push("h", frame("h", false, 33), 33);
    selector.push("f", frame("f", false, 34), 33);
    selector.flush();
    expect(switches).toEqual(["f"]);
    expect(written.map((w) => w.rid)).toEqual(["f", "f"]);
  });

  it("starts on the best layer sending and moves up when a larger one starts (at its first keyframe)", () => {
    const { written, requests, switches, send } = setup();
    send(["q", "h"], 0, 1000, (_r, t) => t === 0); // f not sending yet (a sender enables it as its estimate grows)
    send(["q", "h", "f"], 1000, 1500, (rid, t) => rid === "f" && t === 1000);
    expect(switches).toEqual(["h", "f"]); // q's keyframe at 0 was replaced by h's of the same instant
    expect(written[0]).toMatchObject({ rid: "h", keyframe: true, ptsMs: 0 });
    expect(written.find((w) => w.rid === "f")).toMatchObject({ keyframe: true, ptsMs: 1000 });
    expect(requests).toEqual([]);
  });
});
