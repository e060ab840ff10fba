import { RTCRtcpFeedback, useAV1, useH264, useOPUS, usePCMA, usePCMU, useVP8, useVP9, type RTCRtpCodecParameters } from "werift";
import type { CodecName, MediaKind } from "../media/types.ts";
import { UnsupportedCodecError } from "../util/errors.ts";

const feedback = () => [
  new RTCRtcpFeedback({ type: "nack" }),
  new RTCRtcpFeedback({ type: "nack", parameter: "pli" }),
  new RTCRtcpFeedback({ type: "ccm", parameter: "fir" }),
];

interface CodecInfo {
  kind: MediaKind;
  /** The rtpmap encoding name as it appears in SDP (case-insensitive). */
  sdpName: string;
  clockRate: number;
  params: () => RTCRtpCodecParameters;
}

export const codecTable: Record<CodecName, CodecInfo> = {
  vp8: { kind: "video", sdpName: "vp8", clockRate: 90000, params: () => useVP8({ rtcpFeedback: feedback() }) },
  vp9: { kind: "video", sdpName: "vp9", clockRate: 90000, params: () => useVP9({ rtcpFeedback: feedback() }) },
  h264: { kind: "video", sdpName: "h264", clockRate: 90000, params: () => useH264({ rtcpFeedback: feedback() }) },
  av1: { kind: "video", sdpName: "av1", clockRate: 90000, params: () => useAV1({ rtcpFeedback: feedback() }) },
  opus: { kind: "audio", sdpName: "opus", clockRate: 48000, params: () => useOPUS() },
  pcmu: { kind: "audio", sdpName: "pcmu", clockRate: 8000, params: () => usePCMU() },
  pcma: { kind: "audio", sdpName: "pcma", clockRate: 8000, params: () => usePCMA() },
};

export interface ChosenCodecs {
  audio?: CodecName;
  video?: CodecName;
}

/** Codec names offered per media kind, read from the offer's rtpmap lines. */
export function offeredCodecs(sdp: string): { kind: string; names: Set<string> }[] {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  return sections.map((section) => {
    const kind = section.slice(0, section.indexOf(" "));
    const names = new Set<string>();
    for (const m of section.matchAll(/^a=rtpmap:\d+ ([^/\s]+)\//gm)) names.add(m[1].toLowerCase());
    return { kind, names };
  });
}

/**
 * Picks, per media kind, the first codec of the server's preference list that the offer has.
 * The answer then carries only that codec, so each track's codec is known before media flows.
 */
export function chooseCodecs(sdp: string, preference: readonly CodecName[]): ChosenCodecs {
  const chosen: ChosenCodecs = {};
  for (const { kind, names } of offeredCodecs(sdp)) {
    if (kind !== "audio" && kind !== "video") continue;
    const pick = preference.find((c) => codecTable[c].kind === kind && names.has(codecTable[c].sdpName));
    if (!pick) {
      const wanted = preference.filter((c) => codecTable[c].kind === kind).join(", ");
      throw new UnsupportedCodecError(
        `no common ${kind} codec: offer has ${[...names].join(", ") || "none"}, recbot records ${wanted || "none"}`,
      );
    }
    chosen[kind] ??= pick;
  }
  return chosen;
}
