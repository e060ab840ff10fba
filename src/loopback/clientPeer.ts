import { RTCPeerConnection, useOPUS, useVP8 } from "werift";
import { resolveConfig } from "../config/loadConfig.ts";
import { iceOptions } from "../session/iceOptions.ts";

export interface ClientIceOptions {
  /** Local addresses the client may use (["127.0.0.1"] keeps it on loopback; empty = all interfaces). */
  iceAddresses?: string[];
  /** STUN/TURN URLs for the client (never a public default). */
  iceServers?: string[];
}

/** A werift client peer (VP8 + Opus) with the same ICE restrictions recbot's own peer gets from its config. */
export function clientPeer({ iceAddresses = ["127.0.0.1"], iceServers = [] }: ClientIceOptions = {}): RTCPeerConnection {
  return new RTCPeerConnection({
    ...iceOptions(resolveConfig({ iceAddresses, iceServers }), "client"),
    codecs: { video: [useVP8()], audio: [useOPUS()] },
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
