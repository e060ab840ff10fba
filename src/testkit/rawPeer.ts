import { MediaStream, MediaStreamTrack, RtpHeader, RtpPacket, type RTCPeerConnection, type RTCRtpSender } from "werift";
import { isLoopback } from "../session/iceOptions.ts";
import { clientPeer, correctSenderReports, waitConnected } from "./peer.ts";
import { WsClient } from "./wsClient.ts";

/**
 * A werift client peer on a negotiated /ws connection that sends RTP packets the caller crafts itself (the
 * hostile clients of recbot's tests and soak): werift passes sequence numbers, timestamps, marker and payload
 * through unchanged and only rewrites SSRC and payload type.
 */
export interface RawTrack {
  kind: "audio" | "video";
  sender: RTCRtpSender;
  /** Keyframe requests (PLI) recbot sent for this track. */
  plis: number;
}

export interface RawPeer {
  pc: RTCPeerConnection;
  client: WsClient;
  sessionId: string;
  tracks: RawTrack[];
  /** Sends one packet and waits until werift has handed it to the socket. */
  send(track: number, packet: RtpPacket): Promise<void>;
  /** Sends `bye`, waits until recbot closes the socket, and returns the recordings' finished/failed messages. */
  hangUp(): Promise<any[]>;
  close(): Promise<void>;
}

export interface RawTrackSpec {
  kind: "audio" | "video";
  /** msid stream id; tracks with the same one form one MediaStream (one recording). */
  stream: string;
}

/** A real offer (sendonly tracks, each in the MediaStream named, candidates inline), for tests that only signal. */
export async function offerFor(layout: readonly RawTrackSpec[]): Promise<string> {
  const pc = clientPeer();
  addTracks(pc, layout);
  await pc.setLocalDescription(await pc.createOffer());
  const sdp = pc.localDescription!.sdp;
  await pc.close();
  return sdp;
}

function addTracks(pc: RTCPeerConnection, layout: readonly RawTrackSpec[]): RTCRtpSender[] {
  const streams = new Map<string, MediaStream>();
  return layout.map(({ kind, stream }) => {
    const track = new MediaStreamTrack({ kind });
    let ms = streams.get(stream);
    if (!ms) streams.set(stream, (ms = new MediaStream({ id: stream, tracks: [] })));
    ms.addTrack(track);
    return pc.addTransceiver(track, { direction: "sendonly", streams: [ms] }).sender;
  });
}

/** Offer sendonly tracks as laid out, wait for the answer and for ICE/DTLS; throws with recbot's error if refused. */
export async function connectRaw(url: string, layout: readonly RawTrackSpec[]): Promise<RawPeer> {
  const pc = clientPeer();
  const tracks: RawTrack[] = addTracks(pc, layout).map((sender, i) => {
    correctSenderReports(sender);
    const raw: RawTrack = { kind: layout[i].kind, sender, plis: 0 };
    sender.onPictureLossIndication.subscribe(() => raw.plis++);
    return raw;
  });
  const client = new WsClient(url);
  try {
    await client.opened();
    client.socket.on("message", (data) => {
      const m = JSON.parse(data.toString());
      if (m.type === "candidate" && m.candidate && isLoopback(m.candidate.candidate.split(" ")[4] ?? "")) {
        void pc.addIceCandidate(m.candidate).catch(() => {});
      }
    });
    await pc.setLocalDescription(await pc.createOffer());
    client.send({ type: "offer", sdp: pc.localDescription!.sdp });
    const answer = await client.waitFor((m) => m.type === "answer" || m.type === "error");
    if (answer.type === "error") throw Object.assign(new Error(`${answer.code}: ${answer.message}`), { code: answer.code });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await waitConnected(pc);
    return {
      pc, client, sessionId: answer.sessionId, tracks,
      send: (track, packet) => tracks[track].sender.sendRtp(packet),
      async hangUp() {
        // recbot finalizes every recording (a stream still waiting for its timing starts one now), reports it, then
        // closes the socket.
        if (client.socket.readyState === client.socket.OPEN) client.send({ type: "bye" });
        if (client.closeCode === undefined) await Promise.race([client.closed(), new Promise((r) => setTimeout(r, 30_000))]);
        return client.messages.filter((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"));
      },
      async close() {
        client.close();
        await pc.close();
      },
    };
  } catch (err) {
    client.close();
    await pc.close();
    throw err;
  }
}

/** One RTP packet as a hostile (or careful) sender would build it. */
export function rtp(fields: { seq: number; ts: number; marker?: boolean; payload: Buffer }): RtpPacket {
  const header = new RtpHeader({ sequenceNumber: fields.seq & 0xffff, timestamp: fields.ts >>> 0, marker: fields.marker ?? false, payloadType: 96 });
  return new RtpPacket(header, fields.payload);
}

/** A deterministic byte source (xorshift32), so a "random" payload test fails or passes the same way each run. */
export function prng(seed: number): (n: number) => Buffer {
  let x = seed >>> 0 || 1;
  return (n: number) => {
    const b = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      b[i] = x & 0xff;
    }
    return b;
  };
}
