// recbot call mode, the peer-to-peer side: one RTCPeerConnection per other participant, negotiated through recbot's
// relay (`signal` messages on the socket of a joined RecbotCall). Whoever joins later makes the offers, so two
// participants never offer to each other at once. Plain ES module, no build step.

import { candidateAddress } from "./client.js";

const isLoopback = (address) => address === "::1" || address.startsWith("127.");

export class CallPeers {
  /**
   * `call`: a RecbotCall that has joined (its `joined` message gives the ICE servers and who is there);
   * `stream`: what to send to the others; `onEvent(name, detail)`: "track" ({participantId, stream}),
   * "state" ({participantId, state}), "left" ({participantId}).
   */
  constructor({ call, stream, loopbackOnly = false, onEvent = () => {} }) {
    this.call = call;
    this.stream = stream;
    this.loopbackOnly = loopbackOnly;
    this.onEvent = onEvent;
    this.peers = new Map();
    this.names = new Map();
    const previous = call.onEvent;
    call.onEvent = (name, detail) => {
      previous(name, detail);
      if (name === "message") void this.onMessage(detail);
    };
  }

  /** Offers to everyone already in the call. */
  async start() {
    for (const p of this.call.joined.participants) {
      this.names.set(p.id, p.name);
      const pc = this.peer(p.id);
      await pc.setLocalDescription(await pc.createOffer());
      this.signal(p.id, { description: pc.localDescription.toJSON() });
    }
  }

  signal(to, data) {
    this.call.send({ type: "signal", to, data });
  }

  peer(id) {
    let pc = this.peers.get(id);
    if (pc) return pc;
    pc = new RTCPeerConnection({ iceServers: this.loopbackOnly ? [] : this.call.joined.iceServers });
    this.peers.set(id, pc);
    for (const track of this.stream.getTracks()) pc.addTrack(track, this.stream);
    pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate && this.loopbackOnly && !isLoopback(candidateAddress(candidate.candidate))) return;
      this.signal(id, { candidate: candidate ? candidate.toJSON() : null });
    };
    pc.ontrack = ({ streams }) => this.onEvent("track", { participantId: id, name: this.names.get(id), stream: streams[0] });
    pc.onconnectionstatechange = () => this.onEvent("state", { participantId: id, name: this.names.get(id), state: pc.connectionState });
    return pc;
  }

  async onMessage(m) {
    if (m.type === "participant-joined") this.names.set(m.participant.id, m.participant.name);
    if (m.type === "participant-left") {
      this.peers.get(m.participantId)?.close();
      this.peers.delete(m.participantId);
      this.onEvent("left", { participantId: m.participantId });
    }
    if (m.type !== "signal") return;
    const pc = this.peer(m.from);
    const { description, candidate } = m.data;
    if (description) {
      await pc.setRemoteDescription(description);
      if (description.type === "offer") {
        await pc.setLocalDescription(await pc.createAnswer());
        this.signal(m.from, { description: pc.localDescription.toJSON() });
      }
    } else if (candidate !== undefined) {
      if (candidate && this.loopbackOnly && !isLoopback(candidateAddress(candidate.candidate))) return;
      await pc.addIceCandidate(candidate ?? undefined).catch(() => {});
    }
  }

  /** What the browser received from each other participant (inbound RTP): frames decoded, audio packets. */
  async receiverStats() {
    const out = {};
    for (const [id, pc] of this.peers) {
      const report = await pc.getStats();
      const s = { framesDecoded: 0, audioPackets: 0, state: pc.connectionState };
      report.forEach((r) => {
        if (r.type !== "inbound-rtp") return;
        if (r.kind === "video") s.framesDecoded += r.framesDecoded ?? 0;
        else s.audioPackets += r.packetsReceived ?? 0;
      });
      out[id] = s;
    }
    return out;
  }

  close() {
    for (const pc of this.peers.values()) pc.close();
    this.peers.clear();
  }
}
