import type { IceCandidateJson } from "../../session/session.ts";

/** What a trickle-ICE SDP fragment (RFC 8840, as used by WHIP PATCH) carries. */
export interface SdpFrag {
  ufrag?: string;
  pwd?: string;
  candidates: IceCandidateJson[];
  endOfCandidates: boolean;
}

export class SdpFragError extends Error {
  override name = "SdpFragError";
}

/**
 * Parses an `application/trickle-ice-sdpfrag` body. Candidates take the `a=mid` of the media
 * section they follow (and its index), and the fragment's ufrag, so the session can match them.
 */
export function parseSdpFrag(text: string): SdpFrag {
  const frag: SdpFrag = { candidates: [], endOfCandidates: false };
  let mid: string | undefined;
  let mLineIndex = -1;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "") continue;
    if (!/^[a-z]=/.test(line)) throw new SdpFragError(`not an SDP line: ${JSON.stringify(line.slice(0, 80))}`);
    if (line.startsWith("m=")) {
      mLineIndex++;
      mid = undefined;
    } else if (line.startsWith("a=mid:")) mid = line.slice(6);
    else if (line.startsWith("a=ice-ufrag:")) frag.ufrag = line.slice(12);
    else if (line.startsWith("a=ice-pwd:")) frag.pwd = line.slice(10);
    else if (line === "a=end-of-candidates") frag.endOfCandidates = true;
    else if (line.startsWith("a=candidate:")) {
      const candidate = line.slice(2);
      if (candidate.split(" ").length < 8) throw new SdpFragError(`malformed candidate: ${JSON.stringify(candidate.slice(0, 120))}`);
      frag.candidates.push({
        candidate,
        sdpMid: mid ?? null,
        sdpMLineIndex: mLineIndex >= 0 ? mLineIndex : mid === undefined ? 0 : null,
        usernameFragment: frag.ufrag ?? null,
      });
    }
  }
  return frag;
}

/** The offer's ICE username fragment (session level or first media section). */
export function iceUfragOf(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}
