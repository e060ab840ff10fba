import { describe, expect, it } from "vitest";
import type { Frame } from "../../media/types.ts";
import type { MkvTrack } from "./mkvStream.ts";
import { StartGate } from "./startGate.ts";

/** A VP8 keyframe header for 320x240 (RFC 6386 §9.1), or a delta frame. */
const vp8 = (keyframe: boolean): Buffer =>
  keyframe ? Buffer.from([0x50, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00, 0, 0]) : Buffer.from([0x51, 0x00, 0x00, 0, 0]);
const video = (ptsMicros: number, keyframe: boolean): Frame => ({ kind: "video", codec: "vp8", keyframe, data: vp8(keyframe), ptsMicros });
const audio = (ptsMicros: number): Frame => ({ kind: "audio", codec: "opus", keyframe: true, data: Buffer.from([0xf8, 1]), ptsMicros });
const tracks = (): MkvTrack[] => [{ kind: "audio", codec: "opus" }, { kind: "video", codec: "vp8" }];

describe("StartGate", () => {
  it("holds audio until the video keyframe, drops delta frames before it, and gives the frames in time order", () => {
    const t = tracks();
    const gate = new StartGate(t, 3000);
    expect(gate.hold(0, audio(40_000), 0)).toBe(false);
    expect(gate.hold(1, video(10_000, false), 1)).toBe(false);
    expect(gate.hold(0, audio(20_000), 2)).toBe(false);
    expect(gate.hold(1, video(30_000, true), 3)).toBe(true);
    expect(gate.release().map((h) => h.frame.ptsMicros)).toEqual([20_000, 30_000, 40_000]);
    expect([t[1].width, t[1].height]).toEqual([320, 240]); // from the keyframe's header
  });

  it("starts without a keyframe once the wait is over, if it holds anything", () => {
    const gate = new StartGate(tracks(), 3000);
    expect(gate.hold(0, audio(0), 1000)).toBe(false);
    expect(gate.hold(0, audio(20_000), 3999)).toBe(false);
    expect(gate.hold(0, audio(40_000), 4000)).toBe(true);
    expect(gate.release()).toHaveLength(3);
  });
});
