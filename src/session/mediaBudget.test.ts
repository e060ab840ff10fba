import { describe, expect, it } from "vitest";
import { MediaBudget, countMediaSections, limitStatus } from "./mediaBudget.ts";

const limits = { maxMediaSections: 4, maxTracksPerSession: 3, maxStreamsPerSession: 2, maxStreamsTotal: 3 };

describe("MediaBudget", () => {
  it("counts m-lines on the text, first line included", () => {
    expect(countMediaSections("v=0\r\nm=audio 9 x\r\na=x\r\nm=video 9 y\r\n")).toBe(2);
    expect(countMediaSections("m=audio\nm=audio\n")).toBe(2);
    expect(countMediaSections("v=0\r\n")).toBe(0);
  });

  it.each([
    { name: "too many m-lines", act: (b: MediaBudget) => b.checkMediaSections("v=0\n" + "m=audio 9\n".repeat(5)), code: "too_many_media_sections", limit: "media_sections" },
    { name: "too many tracks", act: (b: MediaBudget) => b.admit(4, 1), code: "too_many_tracks", limit: "tracks" },
    { name: "too many streams in a session", act: (b: MediaBudget) => b.admit(3, 3), code: "too_many_streams", limit: "streams" },
  ] as const)("refuses $name with $code and counts it", ({ act, code, limit }) => {
    const budget = new MediaBudget(limits);
    expect(() => act(budget)).toThrow(expect.objectContaining({ code }));
    expect(budget.refused(limit)).toBe(1);
    expect(budget.streamsActive).toBe(0);
  });

  it("shares the total over every holder of the same memory, and release is idempotent", () => {
    const a = new MediaBudget(limits, { workers: 1 });
    const b = new MediaBudget(limits, { shared: a.shared, owner: 0 }); // as worker thread 0 rebuilds it
    const release = a.admit(2, 2);
    expect(() => b.admit(2, 2)).toThrow(expect.objectContaining({ code: "stream_limit_reached" }));
    const one = b.admit(1, 1);
    expect(a.streamsActive).toBe(3);
    expect(a.tracksActive).toBe(3);
    release();
    release();
    expect(b.streamsActive).toBe(1);
    one();
    expect(a.streamsActive).toBe(0);
    expect(a.refused("streams_total")).toBe(1);
  });

  it("gives back what a dead worker's sessions held, and only that", () => {
    const main = new MediaBudget(limits, { workers: 2 });
    const w0 = new MediaBudget(limits, { shared: main.shared, owner: 0 });
    const w1 = new MediaBudget(limits, { shared: main.shared, owner: 1 });
    w0.admit(2, 2);
    const release1 = w1.admit(1, 1);
    main.releaseWorker(0);
    expect(main.streamsActive).toBe(1);
    expect(main.tracksActive).toBe(1);
    release1();
    expect(main.streamsActive).toBe(0);
  });

  it("maps codes to WHIP statuses: the offer's fault 400, the server's 503", () => {
    expect(limitStatus("too_many_tracks")).toBe(400);
    expect(limitStatus("stream_limit_reached")).toBe(503);
    expect(limitStatus("invalid_sdp")).toBeUndefined();
  });
});
