import { describe, expect, it } from "vitest";
import { RTCPeerConnection } from "werift";
import { repairSdp } from "./sdpRepair.ts";

/** A video section as Firefox writes it after setCodecPreferences(VP8, VP9) with H.264 (126, 97) available. */
const firefoxVideo = [
  "m=video 9 UDP/TLS/RTP/SAVPF 120 124 121 125",
  "c=IN IP4 0.0.0.0",
  "a=sendonly",
  "a=fmtp:126 profile-level-id=42e01f;level-asymmetry-allowed=1;packetization-mode=1",
  "a=fmtp:97 profile-level-id=42e01f;level-asymmetry-allowed=1",
  "a=fmtp:120 max-fs=12288;max-fr=60",
  "a=fmtp:124 apt=120",
  "a=fmtp:121 max-fs=12288;max-fr=60",
  "a=fmtp:125 apt=121",
  "a=mid:1",
  "a=rtcp-fb:120 nack",
  "a=rtcp-fb:126 nack",
  "a=rtcp-fb:126 ccm fir",
  "a=rtcp-fb:* transport-cc",
  "a=rtpmap:120 VP8/90000",
  "a=rtpmap:124 rtx/90000",
  "a=rtpmap:121 VP9/90000",
  "a=rtpmap:125 rtx/90000",
  "a=rtpmap:126 H264/90000",
];
const session = ["v=0", "o=mozilla...THIS_IS_SDPARTA-99.0 1 0 IN IP4 0.0.0.0", "s=-", "t=0 0", "a=fingerprint:sha-256 AA:BB", "a=group:BUNDLE 0 1"];
const audio = ["m=audio 9 UDP/TLS/RTP/SAVPF 109 0", "c=IN IP4 0.0.0.0", "a=sendonly", "a=fmtp:109 maxplaybackrate=48000;stereo=1", "a=mid:0", "a=rtpmap:109 opus/48000/2", "a=rtpmap:0 PCMU/8000"];
const sdp = (...sections: string[][]) => [...session, ...sections.flat(), ""].join("\r\n");

describe("repairSdp", () => {
  it("drops fmtp, rtcp-fb and rtpmap lines for payload types not on the m= line, keeps everything else in order", () => {
    const { sdp: repaired, repairs } = repairSdp(sdp(audio, firefoxVideo));
    const expected = firefoxVideo.filter((l) => !/^a=(fmtp|rtcp-fb|rtpmap):(126|97) /.test(l));
    expect(repaired).toBe(sdp(audio, expected));
    expect(repairs).toEqual([
      "dropped a=fmtp:126 (payload type not on its m= line)",
      "dropped a=fmtp:97 (payload type not on its m= line)",
      "dropped a=rtcp-fb:126 (payload type not on its m= line)",
      "dropped a=rtcp-fb:126 (payload type not on its m= line)",
      "dropped a=rtpmap:126 (payload type not on its m= line)",
    ]);
  });

  it("drops an fmtp whose payload type has no rtpmap, and attribute lines without a value", () => {
    const section = ["m=video 9 UDP/TLS/RTP/SAVPF 96 98", "a=mid:0", "a=rtpmap:96 VP8/90000", "a=fmtp:98 x=1", "a=extmap:", "a=rtcp-fb:"];
    const { sdp: repaired, repairs } = repairSdp(sdp(section));
    expect(repaired).toBe(sdp(["m=video 9 UDP/TLS/RTP/SAVPF 96 98", "a=mid:0", "a=rtpmap:96 VP8/90000"]));
    expect(repairs).toHaveLength(3);
  });

  it("returns a consistent offer unchanged (the same string)", () => {
    const clean = sdp(audio, firefoxVideo.filter((l) => !/:(126|97) /.test(l)));
    expect(repairSdp(clean)).toEqual({ sdp: clean, repairs: [] });
  });

  it("leaves non-RTP sections (data channels) alone, and keeps LF line endings", () => {
    const data = ["m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:2", "a=sctp-port:5000"];
    const lf = [...session, ...data, ""].join("\n");
    expect(repairSdp(lf).sdp).toBe(lf);
  });

  it("makes the Firefox-style offer one werift accepts (it throws on the original)", async () => {
    const offer = sdp(audio, firefoxVideo).replace("a=fingerprint:sha-256 AA:BB", `a=fingerprint:sha-256 ${Array(32).fill("AB").join(":")}\r\na=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=setup:actpass`);
    const before = new RTCPeerConnection({ iceServers: [] });
    await expect(before.setRemoteDescription({ type: "offer", sdp: offer })).rejects.toThrow(/parameters/);
    await before.close();
    const after = new RTCPeerConnection({ iceServers: [] });
    await expect(after.setRemoteDescription({ type: "offer", sdp: repairSdp(offer).sdp })).resolves.not.toThrow();
    await after.close();
  });
});
