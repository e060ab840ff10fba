import { RTCPeerConnection, useOPUS, useVP8, type PeerConfig, type RTCRtpSender } from "werift";
import { resolveConfig } from "../config/loadConfig.ts";
import { unixMicrosToNtp, wallMs } from "../media/clock.ts";
import { iceOptions } from "../session/iceOptions.ts";

export interface ClientIceOptions {
  /** Local addresses the client may use (["127.0.0.1"], the default, keeps it on loopback; [] = every interface). */
  iceAddresses?: string[];
  /** STUN/TURN URLs for the client (never a public default). */
  iceServers?: string[];
}

/**
 * A werift client peer (VP8 + Opus) with the same ICE restrictions recbot's own peer gets from its config:
 * by default only 127.0.0.1 (see docs/lab.md). `overrides` win over the derived settings.
 */
export function clientPeer({ iceAddresses = ["127.0.0.1"], iceServers = [] }: ClientIceOptions = {}, overrides: Partial<PeerConfig> = {}): RTCPeerConnection {
  return new RTCPeerConnection({
    ...iceOptions(resolveConfig({ iceAddresses, iceServers }), "client"),
    codecs: { video: [useVP8()], audio: [useOPUS()] },
    ...overrides,
  });
}

export function waitConnected(pc: RTCPeerConnection, timeoutMs = 15_000): Promise<void> {
  if (pc.connectionState === "connected") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`not connected after ${timeoutMs} ms: ${pc.connectionState} (ICE ${pc.iceConnectionState})`)), timeoutMs);
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      } else if (state === "failed") {
        clearTimeout(timer);
        sub.unSubscribe();
        reject(new Error("ICE/DTLS failed"));
      }
    });
  });
}

/** A real offer from a loopback werift peer (sendonly VP8 + Opus, candidates inline), for tests that only signal. */
export async function loopbackOffer(): Promise<string> {
  const pc = clientPeer();
  pc.addTransceiver("video", { direction: "sendonly" });
  pc.addTransceiver("audio", { direction: "sendonly" });
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}

/**
 * werift 0.25.2 writes the NTP fraction of its RTCP sender reports wrong (docs/werift.md). It takes the SR's NTP
 * time from the send time of the last RTP packet (a private field set per packet): store a correct RFC 3550
 * timestamp there instead, so a werift publisher sends the SRs a browser would.
 */
export function correctSenderReports(sender: RTCRtpSender): void {
  let ntp = 0n;
  Object.defineProperty(sender, "ntpTimestamp", {
    configurable: true,
    get: () => ntp,
    set: () => {
      ntp = unixMicrosToNtp(wallMs() * 1000);
    },
  });
}
