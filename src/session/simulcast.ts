import { useRepairedRtpStreamId, useSdesMid, useSdesRTPStreamId, type RTCRtpHeaderExtensionParameters } from "werift";

/**
 * Simulcast (RFC 8853): the sender sends one RTP stream per encoding, each named by a rid. werift answers
 * `a=simulcast:recv` and routes each rid to its own track (one `ontrack` per rid) only when the RTP stream id
 * extension is negotiated; mid and repaired-rid come with it as browsers send them together.
 */
export function offersSimulcast(sdp: string): boolean {
  return /^a=simulcast:\s*send\s/m.test(sdp);
}

export function simulcastHeaderExtensions(): RTCRtpHeaderExtensionParameters[] {
  return [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()];
}
