import { describe, expect, it } from "vitest";
import { answeredCodecs, chooseCodecs, fmtpValue, offeredCodecs } from "./codecs.ts";

const offer = [
  "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8",
  "a=rtpmap:111 opus/48000/2", "a=fmtp:111 minptime=10;useinbandfec=1;stereo=1",
  "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 45",
  "a=rtpmap:96 VP8/90000", "a=rtpmap:97 rtx/90000", "a=fmtp:97 apt=96",
  "a=rtpmap:102 H264/90000", "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
  "a=rtpmap:103 H264/90000", "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  "a=rtpmap:45 AV1/90000",
  "",
].join("\r\n");

describe("codec choice", () => {
  it("reads payloads in offer order with their fmtp", () => {
    const video = offeredCodecs(offer)[1];
    expect(video.payloads.map((p) => `${p.payloadType}:${p.name}`)).toEqual(["96:vp8", "97:rtx", "102:h264", "103:h264", "45:av1"]);
    expect(fmtpValue(video.payloads[3].fmtp, "packetization-mode")).toBe("1");
  });

  it.each([
    { preference: ["vp8", "opus"], video: "vp8", audio: "opus" },
    { preference: ["av1", "vp8", "pcma", "opus"], video: "av1", audio: "pcma" },
    { preference: ["vp9", "h264", "pcmu"], video: "h264", audio: "pcmu" },
  ] as const)("picks by the server's order: $preference → $video + $audio", ({ preference, video, audio }) => {
    const chosen = chooseCodecs(offer, preference);
    expect(chosen.video?.name).toBe(video);
    expect(chosen.audio?.name).toBe(audio);
  });

  it("takes the H.264 payload in packetization-mode 1 and keeps its fmtp for the answer", () => {
    expect(chooseCodecs(offer, ["h264", "opus"]).video?.fmtp).toContain("packetization-mode=1;profile-level-id=42001f");
  });

  it("keeps the offered Opus fmtp (stereo=1) so the answer can mirror it", () => {
    expect(fmtpValue(chooseCodecs(offer, ["vp8", "opus"]).audio!.fmtp, "stereo")).toBe("1");
  });

  it("refuses with unsupported_codec when nothing is shared", () => {
    expect(() => chooseCodecs(offer, ["vp9", "opus"])).toThrow(expect.objectContaining({ code: "unsupported_codec", message: expect.stringMatching(/no common video codec: offer has vp8, rtx, h264, av1/) }));
    const pm0 = offer.replace(/a=rtpmap:96 VP8\/90000\r\n/, "").replace(/packetization-mode=1/, "packetization-mode=0");
    expect(() => chooseCodecs(pm0, ["h264", "opus"])).toThrow(/no common video codec/);
  });
});

describe("recbot as the caller: which codec arrives on each m-section", () => {
  const ours = [
    "v=0", "o=- 1 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 8", "a=mid:0", "a=recvonly", "a=rtpmap:8 PCMA/8000",
    "m=video 9 UDP/TLS/RTP/SAVPF 97", "a=mid:1", "a=recvonly", "a=rtpmap:97 H264/90000",
    "a=fmtp:97 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", "",
  ].join("\r\n");
  const answer = (videoPort = "9", videoDirection = "sendonly") => [
    "v=0", "o=- 3 4 IN IP4 127.0.0.1", "s=-", "t=0 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 8", "a=mid:0", "a=sendonly", "a=rtpmap:8 PCMA/8000",
    `m=video ${videoPort} UDP/TLS/RTP/SAVPF 97`, "a=mid:1", `a=${videoDirection}`, "a=rtpmap:97 H264/90000", "",
  ].join("\r\n");

  it("maps each sending section's mid to recbot's codec and payload type", () => {
    expect([...answeredCodecs(ours, answer())]).toEqual([["0", { codec: "pcma", payloadType: 8 }], ["1", { codec: "h264", payloadType: 97 }]]);
  });

  it("leaves out sections the answerer rejects or does not send on", () => {
    expect([...answeredCodecs(ours, answer("0")).keys()]).toEqual(["0"]);
    expect([...answeredCodecs(ours, answer("9", "inactive")).keys()]).toEqual(["0"]);
  });

  it("refuses an answer that accepts none of recbot's codecs", () => {
    const foreign = answer().replace("m=video 9 UDP/TLS/RTP/SAVPF 97", "m=video 9 UDP/TLS/RTP/SAVPF 96").replace("a=rtpmap:97 H264", "a=rtpmap:96 VP8");
    expect(() => answeredCodecs(ours, foreign)).toThrow(expect.objectContaining({ code: "unsupported_codec" }));
  });
});
