import { describe, expect, it } from "vitest";
import { inputOptions } from "./args.ts";

describe("ffmpeg input options for recbot's Matroska stream", () => {
  it.each([
    [["vp8", "opus"], "0"],
    [["vp9", "opus"], "500000"],
    [["av1", "opus"], "500000"],
    [["opus"], "0"],
    [["pcmu"], "0"],
    [["h264", "opus"], "500000"],
    [["h264", "pcma"], "500000"],
    [[], "500000"],
  ] as const)("%j is read with analyzeduration %s (no probing only when the header holds every parameter)", (codecs, analyze) => {
    const args = inputOptions(codecs);
    expect(args[args.indexOf("-analyzeduration") + 1]).toBe(analyze);
  });
});

describe("ffmpeg's own output", () => {
  it("is limited to warnings and errors, without banner or progress lines", () => {
    const args = inputOptions(["vp8", "opus"]);
    expect(args).toEqual(expect.arrayContaining(["-hide_banner", "-nostats"]));
    expect(args[args.indexOf("-loglevel") + 1]).toBe("warning");
  });
});
