import { describe, expect, it } from "vitest";
import { buildPlan, gridShape, gridTiles, layoutIntervals, type LayoutParticipant } from "./layout.ts";
import { findVideoGaps } from "./videoGaps.ts";

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

  it("video switched off inside a file: the still tile covers the tile during each gap, on the call's clock", () => {
    const input = (gaps: { from: number; to: number }[]) => buildPlan({
      participants: [
        { id: "a", name: "A", joinedMs: 0, leftMs: 10_000, media: [{ ...piece("/r/a.webm", 1000), videoGaps: gaps }] },
        { id: "b", name: "B", joinedMs: 0, leftMs: 6000, media: [piece("/r/b.webm", 0)] },
      ],
      startMs: 0, endMs: 10_000, width: 1280, height: 720, fps: 25, nameFile: (id) => `/tmp/${id}.txt`, fontFile: "/f.ttf",
    });
    const none = input([]);
    expect(none.filter).not.toContain("gte(t,");
    // File times 2–4 s and 6–8.5 s; the file starts 1 s into the call; video is shown half a frame (20 ms) early.
    const plan = input([{ from: 2, to: 4 }, { from: 6, to: 8.5 }]);
    const stills = [...plan.filter.matchAll(/drawbox=x=(\d+):y=(\d+):w=(\d+):h=(\d+):color=0x2a3038:t=fill:enable='gte\(t,([\d.]+)\)\*lt\(t,([\d.]+)\)'/g)]
      .map((m) => m.slice(1).map(Number));
    // The first gap (2.98–4.98 s) is while B is present (A on the left half); the second (6.98–9.48 s) while A is alone.
    expect(stills).toEqual([[2, 2, 636, 716, 2.98, 4.98], [2, 2, 1276, 716, 6.98, 9.48]]);
    // Each still is drawn after A's video overlays (so it hides the held frame) and before the names.
    const lastOverlay = plan.filter.lastIndexOf("overlay=");
    const firstStill = plan.filter.indexOf("gte(t,2.98)");
    expect(firstStill).toBeGreaterThan(lastOverlay);
    expect(plan.filter.indexOf("drawtext=")).toBeGreaterThan(firstStill);
    // A gap across the change from two tiles to one is split at the change, each part on the tile of its stretch.
    const across = input([{ from: 4, to: 6 }]);
    expect(across.filter).toContain("w=636:h=716:color=0x2a3038:t=fill:enable='gte(t,4.98)*lt(t,6)'");
    expect(across.filter).toContain("w=1276:h=716:color=0x2a3038:t=fill:enable='gte(t,6)*lt(t,6.98)'");
    // Any number of gaps: one graph, each label defined once and used once.
    const many = input(Array.from({ length: 40 }, (_, i) => ({ from: i * 0.2, to: i * 0.2 + 0.1 })));
    const labels = [...many.filter.matchAll(/\[(c\d+)\]/g)].map((m) => m[1]);
    for (const l of new Set(labels)) expect(labels.filter((x) => x === l)).toHaveLength(2);
    // 40 gaps, one of them (file 5–5.1 s) across the change at 6 s: 41 stills of two boxes each.
    expect(many.filter.match(/gte\(t,/g)!.length).toBe(82);
  });
});

describe("video gaps", () => {
  const frames = (from: number, to: number, step = 1 / 30) => Array.from({ length: Math.round((to - from) / step) }, (_, i) => from + i * step);
  it("finds stretches without frames longer than 500 ms, including a trailing one; late frames are not gaps", () => {
    expect(findVideoGaps(frames(0, 5), 5)).toEqual([]);
    const jitter = [0, 0.033, 0.066, 0.5, 0.533, 0.566]; // 434 ms late: not a switched-off camera
    expect(findVideoGaps(jitter, 0.6)).toEqual([]);
    const times = [...frames(0, 2), ...frames(4, 6)];
    const gaps = findVideoGaps(times, 8);
    expect(gaps).toHaveLength(2);
    expect(gaps[0].from).toBeCloseTo(2, 3); // the last frame before (1.967 s) keeps its usual 33 ms
    expect(gaps[0].to).toBeCloseTo(4, 3);
    expect(gaps[1].from).toBeCloseTo(6, 3);
    expect(gaps[1].to).toBe(8);
    expect(findVideoGaps([1], 10)).toEqual([]);
  });
});
