import type { RTCPeerConnection } from "werift";

export interface CandidateSummary {
  /** host, srflx, prflx or relay */
  type: string;
  address: string;
  port: number;
}

export interface SelectedPair {
  local: CandidateSummary;
  remote: CandidateSummary;
}

/** The candidate pair ICE nominated on the (bundled) transport, or undefined before ICE connects. */
export function selectedPair(pc: RTCPeerConnection): SelectedPair | undefined {
  const pair = pc.iceTransports[0]?.connection.nominated;
  if (!pair) return undefined;
  const { localCandidate: l, remoteCandidate: r } = pair;
  return {
    local: { type: l.type, address: l.host, port: l.port },
    remote: { type: r.type, address: r.host, port: r.port },
  };
}

/** "relay→host" style label for logs and tables. */
export function pairLabel(pair: SelectedPair | undefined): string {
  return pair ? `${pair.local.type}→${pair.remote.type}` : "none";
}
