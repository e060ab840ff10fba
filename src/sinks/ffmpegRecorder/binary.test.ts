import { describe, expect, it } from "vitest";
import { LEAN_FFMPEG, recorderFfmpeg } from "./binary.ts";

describe("the recorder's ffmpeg", () => {
  it("auto: the lean build when it is there, else ffmpeg from PATH", () => {
    expect(recorderFfmpeg("auto", (p) => p === LEAN_FFMPEG)).toEqual({ path: LEAN_FFMPEG, kind: "lean" });
    expect(recorderFfmpeg("auto", () => false)).toEqual({ path: "ffmpeg", kind: "system" });
  });

  it("a configured path is used as given, built or not", () => {
    expect(recorderFfmpeg("/opt/ffmpeg/bin/ffmpeg", () => true)).toEqual({ path: "/opt/ffmpeg/bin/ffmpeg", kind: "configured" });
    expect(recorderFfmpeg("ffmpeg", () => true)).toEqual({ path: "ffmpeg", kind: "configured" });
  });
});
