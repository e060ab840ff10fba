import { describe, expect, it } from "vitest";
import { buildPlan, gridShape, gridTiles, layoutIntervals, type LayoutParticipant } from "./layout.ts";

const piece = (file: string, originMs: number, hasVideo = true, hasAudio = true) => ({ file, originMs, hasVideo, hasAudio });

describe("composite layout", () => {
  it.each([
    [1, 1, 1], [2, 2, 1], [3, 2, 2], [4, 2, 2], [5, 3, 2], [9, 3, 3], [10, 4, 3],
  ])("%i participants → %i columns x %i rows", (n, cols, rows) => {
    expect(gridShape(n)).toEqual({ cols, rows });
  });

  it("tiles fill the canvas; a short last row is centred", () => {
    expect(gridTiles(["a"], 1280, 720)).toEqual([{ participantId: "a", x: 0, y: 0, w: 1280, h: 720 }]);
    expect(gridTiles(["a", "b"], 1280, 720).map((t) => [t.x, t.y, t.w, t.h])).toEqual([[0, 0, 640, 720], [640, 0, 640, 720]]);
    const three = gridTiles(["a", "b", "c"], 1280, 720);
    expect(three.map((t) => [t.x, t.y])).toEqual([[0, 0], [640, 0], [320, 360]]);
  });

  it("splits the call at joins and leaves, keeping join order", () => {
    const people: LayoutParticipant[] = [
      { id: "a", name: "A", joinedMs: 1000, leftMs: 9000, media: [] },
      { id: "b", name: "B", joinedMs: 4000, media: [] },
    ];
    const intervals = layoutIntervals(people, 1000, 11000, 1280, 720);
    expect(intervals.map((iv) => [iv.from, iv.to, iv.tiles.map((t) => t.participantId).join()])).toEqual([
      [0, 3, "a"], [3, 8, "a,b"], [8, 10, "b"],
    ]);
  });

  it("places each file on the call's clock: video by setpts (half a frame early), audio by adelay", () => {
    const plan = buildPlan({
      participants: [
        { id: "a", name: "A", joinedMs: 0, leftMs: 10_000, media: [piece("/r/a.webm", 500)] },
        { id: "b", name: "B", joinedMs: 3000, leftMs: 10_000, media: [piece("/r/b.webm", 3250), piece("/r/b.s2.webm", 7000, true, false)] },
      ],
      startMs: 0, endMs: 10_000, width: 1280, height: 720, fps: 30, nameFile: (id) => `/tmp/${id}.txt`, fontFile: "/f.ttf",
    });
    expect(plan.inputs).toEqual(["/r/a.webm", "/r/b.webm", "/r/b.s2.webm"]);
    expect(plan.durationS).toBe(10);
    expect(plan.filter).toContain("[0:v]setpts=PTS+(0.4833)/TB");
    expect(plan.filter).toContain("[1:a]aresample=async=1:first_pts=0,adelay=delays=3250:all=1");
    expect(plan.filter).not.toContain("[2:a]"); // the second segment has no audio
    expect(plan.filter).toContain("amix=inputs=2");
    // A's video is used in both stretches (alone, then beside B), so it is split in two and trimmed to each.
    expect(plan.filter).toMatch(/\[0:v\]setpts=[^;]*split=2/);
    expect(plan.filter).toContain("trim=start=0:end=3,scale=1280:720");
    expect(plan.filter).toContain("trim=start=3:end=10,scale=640:720");
    // Names come from files: nothing a participant typed is in the graph.
    expect(plan.filter).toContain("textfile=/tmp/b.txt");
    expect(plan.filter.endsWith("[aout]")).toBe(true);
  });

  it("a call without audio has no audio output; a file that started before the call is trimmed, not delayed", () => {
    const plan = buildPlan({
      participants: [{ id: "a", name: "A", joinedMs: 0, media: [piece("/r/a.webm", -200, false, true)] }],
      startMs: 0, endMs: 2000, width: 640, height: 360, fps: 30, nameFile: () => "/n", fontFile: "/f",
    });
    expect(plan.filter).toContain("atrim=start=0.2");
    const silent = buildPlan({
      participants: [{ id: "a", name: "A", joinedMs: 0, media: [piece("/r/a.webm", 0, true, false)] }],
      startMs: 0, endMs: 2000, width: 640, height: 360, fps: 30, nameFile: () => "/n", fontFile: "/f",
    });
    expect(silent.audio).toBeUndefined();
  });
});
