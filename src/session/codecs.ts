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
  /** werift codec parameters for the answer; `fmtp` is the offered payload's fmtp line. */
  params: (fmtp: string) => RTCRtpCodecParameters;
}

/**
 * H.264: werift only matches an offered H.264 payload whose profile-level-id equals ours, so the
 * answer reuses the offered payload's parameters (whatever profile the browser put first).
 * Opus: answer `stereo=1` only when the offer asked for it, so the sender keeps stereo.
 */
export const codecTable: Record<CodecName, CodecInfo> = {
  vp8: { kind: "video", sdpName: "vp8", clockRate: 90000, params: () => useVP8({ rtcpFeedback: feedback() }) },
  vp9: { kind: "video", sdpName: "vp9", clockRate: 90000, params: () => useVP9({ rtcpFeedback: feedback() }) },
  h264: {
    kind: "video", sdpName: "h264", clockRate: 90000,
    params: (fmtp) => useH264({ rtcpFeedback: feedback(), ...(fmtp ? { parameters: fmtp } : {}) }),
  },
  av1: { kind: "video", sdpName: "av1", clockRate: 90000, params: () => useAV1({ rtcpFeedback: feedback() }) },
  opus: {
    kind: "audio", sdpName: "opus", clockRate: 48000,
    params: (fmtp) => useOPUS({ parameters: `minptime=10;useinbandfec=1${fmtpValue(fmtp, "stereo") === "1" ? ";stereo=1;sprop-stereo=1" : ""}` }),
  },
  pcmu: { kind: "audio", sdpName: "pcmu", clockRate: 8000, params: () => usePCMU() },
  pcma: { kind: "audio", sdpName: "pcma", clockRate: 8000, params: () => usePCMA() },
};

export interface OfferedPayload {
  payloadType: number;
  name: string;
  fmtp: string;
}

export interface OfferedSection {
  kind: string;
  payloads: OfferedPayload[];
}

export interface ChosenCodec {
  name: CodecName;
  /** The offered payload type (werift's answer keeps the offerer's numbers). */
  payloadType: number;
  fmtp: string;
  /** Channels the file declares: Opus is always "/2" in RTP (RFC 7587), mono packets decode fine as stereo. */
  channels: number;
}

export interface ChosenCodecs {
  audio?: ChosenCodec;
  video?: ChosenCodec;
}

export function fmtpValue(fmtp: string, key: string): string | undefined {
  for (const part of fmtp.split(";")) {
    const [k, v] = part.split("=");
    if (k?.trim().toLowerCase() === key) return v?.trim();
  }
  return undefined;
}

/** Payloads offered per m-section (in offer order), read from rtpmap and fmtp lines. */
export function offeredCodecs(sdp: string): OfferedSection[] {
  const sections = sdp.split(/\r?\nm=/).slice(1);
  return sections.map((section) => {
    const kind = section.slice(0, section.indexOf(" "));
    const order = section.split(/\r?\n/, 1)[0].split(" ").slice(3).map(Number);
    const names = new Map<number, string>();
    const fmtps = new Map<number, string>();
    for (const m of section.matchAll(/^a=rtpmap:(\d+) ([^/\s]+)\//gm)) names.set(Number(m[1]), m[2].toLowerCase());
    for (const m of section.matchAll(/^a=fmtp:(\d+) (.*?)\r?$/gm)) fmtps.set(Number(m[1]), m[2]);
    const payloads = order
      .filter((pt) => names.has(pt))
      .map((pt) => ({ payloadType: pt, name: names.get(pt)!, fmtp: fmtps.get(pt) ?? "" }));
    return { kind, payloads };
  });
}

/** Payloads recbot can record for a codec name (H.264 only in packetization-mode 1: FU-A/STAP-A). */
function usable(p: OfferedPayload, codec: CodecName): boolean {
  if (p.name !== codecTable[codec].sdpName) return false;
  if (codec === "h264") return fmtpValue(p.fmtp, "packetization-mode") === "1";
  return true;
}

/**
 * Picks, per media kind, the first codec of the server's preference list that the offer has
 * (for H.264, the browser's first profile in packetization-mode 1). The answer then carries only
 * that codec, so each track's codec is known before media flows.
 */
export function chooseCodecs(sdp: string, preference: readonly CodecName[]): ChosenCodecs {
  const chosen: ChosenCodecs = {};
  for (const { kind, payloads } of offeredCodecs(sdp)) {
    if (kind !== "audio" && kind !== "video") continue;
    let pick: ChosenCodec | undefined;
    for (const codec of preference) {
      if (codecTable[codec].kind !== kind) continue;
      const payload = payloads.find((p) => usable(p, codec));
      if (payload) {
        pick = { name: codec, payloadType: payload.payloadType, fmtp: payload.fmtp, channels: codec === "opus" ? 2 : 1 };
        break;
      }
    }
    if (!pick) {
      const wanted = preference.filter((c) => codecTable[c].kind === kind).join(", ");
      const names = [...new Set(payloads.map((p) => p.name))];
      throw new UnsupportedCodecError(
        `no common ${kind} codec: offer has ${names.join(", ") || "none"}, recbot records ${wanted || "none"}`,
      );
    }
    chosen[kind] ??= pick;
  }
  return chosen;
}

/**
 * The codecs recbot may offer as the caller: those of `asked` (a `call` message's `codecs`) that it records, else
 * its whole preference; a kind with a transceiver to offer and no codec left is an error.
 */
export function callPreference(
  asked: readonly CodecName[] | undefined, preference: readonly CodecName[], counts: Record<MediaKind, number>,
): readonly CodecName[] {
  const usable = asked ? asked.filter((c) => preference.includes(c)) : preference;
  for (const kind of ["audio", "video"] as const) {
    if (counts[kind] > 0 && !usable.some((c) => codecTable[c].kind === kind)) {
      throw new UnsupportedCodecError(`no ${kind} codec left to offer: asked for ${asked?.join(", ")}, recbot records ${preference.join(", ")}`);
    }
  }
  return usable;
}

/**
 * recbot as the caller offers one codec per kind, the first of the preference list: a browser sends
 * by the offerer's order whatever its answer lists (Chromium ignores its own setCodecPreferences when
 * answering: measured, it answered H.264 only and sent VP8), so a single codec leaves no doubt about
 * what arrives. A client picks another codec with `codecs` in its `call` message.
 */
export function offerCodecs(preference: readonly CodecName[]): { audio: RTCRtpCodecParameters[]; video: RTCRtpCodecParameters[] } {
  const first = (kind: MediaKind) =>
    preference.filter((c) => codecTable[c].kind === kind).slice(0, 1).map((c) => codecTable[c].params(c === "h264" ? H264_OFFER_FMTP : ""));
  return { audio: first("audio"), video: first("video") };
}

/** Constrained Baseline, packetization-mode 1: the H.264 profile every WebRTC browser can send. */
const H264_OFFER_FMTP = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/**
 * The codec the answerer will send on each m-section of recbot's offer, by mid: the first payload of
 * recbot's offer that the answer accepts (see offerCodecs). Sections the answerer does not send on
 * are left out; a sending section that accepts none of recbot's codecs throws unsupported_codec.
 */
export function answeredCodecs(offer: string, answer: string): Map<string, { codec: CodecName; payloadType: number }> {
  const offered = new Map<string, OfferedSection>();
  const offerSections = offer.split(/\r?\nm=/).slice(1);
  offeredCodecs(offer).forEach((section, i) => {
    const mid = /^a=mid:(\S+)/m.exec(offerSections[i])?.[1];
    if (mid) offered.set(mid, section);
  });
  const byMid = new Map<string, { codec: CodecName; payloadType: number }>();
  const answerSections = answer.split(/\r?\nm=/).slice(1);
  offeredCodecs(answer).forEach(({ kind, payloads }, i) => {
    const section = answerSections[i];
    const mid = /^a=mid:(\S+)/m.exec(section)?.[1];
    const port = section.split(" ", 2)[1];
    if ((kind !== "audio" && kind !== "video") || port === "0" || !mid || /^a=(recvonly|inactive)\b/m.test(section)) return;
    const accepted = new Set(payloads.map((p) => p.payloadType));
    const ours = offered.get(mid)?.payloads ?? [];
    const pick = ours.find((p) => accepted.has(p.payloadType) && codecNamed(kind, p.name));
    if (!pick) {
      throw new UnsupportedCodecError(`the answer accepts none of recbot's ${kind} codecs (it has ${payloads.map((p) => p.name).join(", ") || "none"})`, { mid });
    }
    byMid.set(mid, { codec: codecNamed(kind, pick.name)!, payloadType: pick.payloadType });
  });
  return byMid;
}

function codecNamed(kind: string, sdpName: string): CodecName | undefined {
  return (Object.keys(codecTable) as CodecName[]).find((c) => codecTable[c].kind === kind && codecTable[c].sdpName === sdpName);
}
