import { describe, expect, it } from "vitest";
import { StreamLimit } from "./streamLimit.ts";
import type { Frame } from "./types.ts";

const frame = (ms: number, bytes = 100): Frame => ({ kind: "audio", codec: "opus", keyframe: true, data: Buffer.alloc(bytes), ptsMicros: 5e9 + ms * 1000 });

describe("StreamLimit", () => {
  it("stops at the first frame at or past maxSeconds, once, and passes nothing after", () => {
    const reasons: string[] = [];
    const limit = new StreamLimit(2, 1e9, (r) => reasons.push(r));
    const passed = [0, 1000, 1980, 2000, 2020, 500].map((ms) => limit.pass(frame(ms)));
    expect(passed).toEqual([true, true, true, false, false, false]);
    expect(reasons).toEqual(["max_duration"]);
  });

  it("stops before the frame that would exceed maxBytes", () => {
    const reasons: string[] = [];
    const limit = new StreamLimit(100, 250, (r) => reasons.push(r));
    expect([0, 20, 40].map((ms) => limit.pass(frame(ms)))).toEqual([true, true, false]);
    expect(reasons).toEqual(["max_size"]);
  });
});
