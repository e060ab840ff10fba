import { describe, expect, it } from "vitest";
import { chooseCodecs } from "./codecs.ts";

const offer = (video: string[], audio: string[]) =>
  [
    "v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "t=0 0",
    `m=audio 9 UDP/TLS/RTP/SAVPF ${audio.map((_, i) => 100 + i).join(" ")}`,
    ...audio.map((n, i) => `a=rtpmap:${100 + i} ${n}/48000/2`),
    `m=video 9 UDP/TLS/RTP/SAVPF ${video.map((_, i) => 96 + i).join(" ")}`,
    ...video.map((n, i) => `a=rtpmap:${96 + i} ${n}/90000`),
    "",
  ].join("\r\n");

describe("chooseCodecs", () => {
  it("picks by the server's preference, not the offer's order", () => {
    expect(chooseCodecs(offer(["H264", "VP9", "VP8"], ["opus"]), ["vp8", "vp9", "opus"])).toEqual({ video: "vp8", audio: "opus" });
    expect(chooseCodecs(offer(["VP8", "VP9"], ["opus"]), ["vp9", "vp8", "opus"])).toEqual({ video: "vp9", audio: "opus" });
  });

  it("throws unsupported_codec naming the kind when nothing is shared", () => {
    expect(() => chooseCodecs(offer(["H264"], ["opus"]), ["vp8", "opus"])).toThrow(/no common video codec: offer has h264/);
  });
});
