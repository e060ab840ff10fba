import { describe, expect, it } from "vitest";
import { MAX_STREAM_ID_LENGTH, safeStreamId } from "./streamId.ts";

describe("safeStreamId", () => {
  it.each([
    ["a browser's msid", "{4f3c9a0e-1b2c-4d5e-8f90-a1b2c3d4e5f6}"],
    ["a werift stream id", "6d1c0f0e-2a4b-4c5d-9e8f-7a6b5c4d3e2f"],
    ["non-ASCII letters", "caméra-élève"],
  ])("keeps %s as it is", (_name, id) => {
    expect(safeStreamId(id)).toBe(id);
  });

  it("names a missing or empty id '-'", () => {
    expect(safeStreamId(undefined)).toBe("-");
    expect(safeStreamId("")).toBe("-");
    expect(safeStreamId("\u0000\u202e")).toMatch(/^~[0-9a-f]{8}$/);
  });

  it.each([
    ["NUL", "cam\u0000era"],
    ["a right-to-left override", "cam\u202eera"],
    ["a bidi isolate", "cam\u2067era\u2069"],
    ["a newline", "cam\nera"],
    ["a zero-width joiner", "cam\u200dera"],
  ])("removes %s and marks the id as changed", (_name, id) => {
    expect(safeStreamId(id)).toMatch(/^camera~[0-9a-f]{8}$/);
  });

  it("bounds a 100 KB id to 64 characters and keeps different long ids apart", () => {
    const a = "x".repeat(100_000) + "a";
    const b = "x".repeat(100_000) + "b";
    expect([...safeStreamId(a)]).toHaveLength(MAX_STREAM_ID_LENGTH);
    expect(safeStreamId(a)).not.toBe(safeStreamId(b));
    expect(safeStreamId(a)).toBe(safeStreamId(a));
  });

  it("counts characters, not UTF-16 units, and never splits a surrogate pair", () => {
    const id = safeStreamId("🎥".repeat(80));
    expect([...id]).toHaveLength(MAX_STREAM_ID_LENGTH);
    expect(id.startsWith("🎥".repeat(55))).toBe(true);
  });
});
