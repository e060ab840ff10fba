import { describe, expect, it } from "vitest";
import { TimelineGuard } from "./timelineGuard.ts";

/** Feeds [timestamp, arrivalMs] pairs at 48 kHz with 20 ms frames; returns what the guard made of them. */
function run(frames: [number, number][], minStep = 960) {
  const guard = new TimelineGuard({ clockRate: 48000, slackSeconds: 3, newTimelineBackSeconds: 10 });
  const out = frames.map(([ts, at]) => guard.place(ts, at, minStep));
  return { out, jumps: guard.jumps, backwards: guard.backwards, guard };
}

describe("TimelineGuard", () => {
  it.each([
    { name: "a steady stream passes unchanged", frames: [[1000, 0], [1960, 20], [2920, 40]], out: [1000, 1960, 2920], jumps: 0, backwards: 0 },
    { name: "a real 2 s pause (DTX) keeps its length", frames: [[1000, 0], [1000 + 96000, 2000]], out: [1000, 97000], jumps: 0, backwards: 0 },
    { name: "a burst up to the slack passes (a sender catching up)", frames: [[0, 0], [48000 * 2, 1], [48000 * 3, 2]], out: [0, 96000, 144000], jumps: 0, backwards: 0 },
    { name: "a 600 s jump 20 ms later becomes 20 ms", frames: [[0, 0], [48000 * 600, 20]], out: [0, 960], jumps: 1, backwards: 0 },
    { name: "a frame 1 s in the past is dropped", frames: [[96000, 0], [48000, 20], [96960, 40]], out: [96000, -1, 96960], jumps: 0, backwards: 1 },
    { name: "an equal timestamp is dropped", frames: [[5000, 0], [5000, 20]], out: [5000, -1], jumps: 0, backwards: 1 },
    { name: "a frame overlapping the previous one is dropped", frames: [[5000, 0], [5100, 20]], out: [5000, -1], jumps: 0, backwards: 1 },
    { name: "a jump back of a minute is a new timeline placed by arrival", frames: [[48000 * 100, 0], [48000 * 40, 1000]], out: [4800000, 4848000], jumps: 1, backwards: 0 },
    { name: "timestamps wrap around 2^32 unchanged", frames: [[2 ** 32 - 960, 0], [0, 20], [960, 40]], out: [2 ** 32 - 960, 0, 960], jumps: 0, backwards: 0 },
  ] as { name: string; frames: [number, number][]; out: number[]; jumps: number; backwards: number }[])("$name", ({ frames, out, jumps, backwards }) => {
    const r = run(frames);
    expect(r.out).toEqual(out);
    expect(r.jumps).toBe(jumps);
    expect(r.backwards).toBe(backwards);
  });

  it("lets 300 packets jumping ~600 s each cover only their own 20 ms each (plus slack), not 50 hours", () => {
    const frames: [number, number][] = Array.from({ length: 300 }, (_, i) => [(i * 48000 * 599) >>> 0, i * 2.7]);
    const { out, jumps } = run(frames);
    const span = (out[299] - out[0]) / 48000;
    expect(jumps).toBe(299);
    expect(span).toBeLessThan(300 * 0.02 + 3);
    for (let i = 1; i < out.length; i++) expect(out[i]).toBeGreaterThan(out[i - 1]);
  });

  it("maps a sender report's timestamp with the current offset", () => {
    const { guard } = run([[0, 0], [48000 * 600, 20]]);
    expect(guard.map(48000 * 600 + 480)).toBe(960 + 480);
  });
});
