/**
 * A publisher on libdatachannel (`node-datachannel`: native ICE via libjuice, DTLS and SRTP): an independent
 * WebRTC stack, and a cheap one, used as an interop client in the tests and as the bench's load generator.
 * It sends the pre-encoded clip as RTP it builds itself (VP8 per RFC 7741 with a minimal payload descriptor,
 * Opus per RFC 7587), paced in real time; libdatachannel's RtcpSrReporter sends a sender report per track
 * about once a second (NTP "now" ↔ the RTP timestamp of the packet just sent) and RtcpNackResponder answers NACKs.
 *
 * libjuice (its ICE agent) sometimes reports "completed" without ever sending the check that nominates the pair;
 * werift, the controlled side, then waits for that nomination forever and never starts DTLS (seen in 3–8 % of
 * connects under load). The workaround here: a connect timeout, then a new peer connection and a new offer on a
 * new WebSocket (`attempts`, counted in `connectAttempts`).
 */
import { statSync } from "node:fs";
import path from "node:path";
import nodeDataChannel from "node-datachannel";
import type { Clip } from "../../src/testkit/clip.ts";
import type { SendStats } from "../../src/testkit/pacer.ts";
import { WsClient } from "../../src/testkit/wsClient.ts";

const { PeerConnection, Video, Audio, RtpPacketizationConfig, RtcpSrReporter, RtcpNackResponder } = nodeDataChannel;
type PeerConnection = InstanceType<typeof PeerConnection>;
type Track = ReturnType<PeerConnection["addTrack"]>;

const VIDEO_PT = 96;
const AUDIO_PT = 111;
/** RTP payload bytes per packet (the VP8 descriptor included), well under a loopback or Internet MTU. */
const MAX_PAYLOAD = 1200;
const KEYFRAME_ON_DISK_BYTES = 3000;

/** The clip cut into RTP payloads once per process and shared by every publisher. */
interface PacketizedFrame {
  time: number;
  kind: "video" | "audio";
  index: number;
  payloads: Buffer[];
}
interface PacketizedClip {
  schedule: PacketizedFrame[];
  /** Intra copies of the video pictures, by index (answers to PLI). */
  intra: (Buffer[] | undefined)[];
}

const packetized = new WeakMap<Clip, PacketizedClip>();

/** VP8 payloads (RFC 7741 4.2): a one-byte descriptor, S=1 on a frame's first packet, no picture id. */
function vp8Payloads(frame: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let offset = 0; offset < frame.length; offset += MAX_PAYLOAD - 1) {
    const chunk = frame.subarray(offset, offset + MAX_PAYLOAD - 1);
    const payload = Buffer.allocUnsafe(chunk.length + 1);
    payload[0] = offset === 0 ? 0x10 : 0x00;
    chunk.copy(payload, 1);
    out.push(payload);
  }
  return out;
}

function packetize(clip: Clip): PacketizedClip {
  let p = packetized.get(clip);
  if (!p) {
    const schedule: PacketizedFrame[] = [
      ...clip.video.map((f, index) => ({ time: f.time, kind: "video" as const, index, payloads: vp8Payloads(f.data) })),
      ...clip.audio.map((f, index) => ({ time: f.time, kind: "audio" as const, index, payloads: [f.data] })),
    ].filter((e) => e.time < clip.seconds).sort((a, b) => a.time - b.time);
    p = { schedule, intra: clip.intra?.map((f) => vp8Payloads(f.data)) ?? [] };
    packetized.set(clip, p);
  }
  return p;
}

/** One reused buffer per process: sendMessageBinary copies synchronously. */
const scratch = Buffer.alloc(12 + MAX_PAYLOAD);

interface RtpStream {
  track: Track;
  ssrc: number;
  pt: number;
  seq: number;
  tsBase: number;
  clockRate: number;
}

function sendRtp(s: RtpStream, payload: Buffer, timestamp: number, marker: boolean): void {
  scratch[0] = 0x80;
  scratch[1] = (marker ? 0x80 : 0) | s.pt;
  scratch.writeUInt16BE(s.seq, 2);
  scratch.writeUInt32BE(timestamp >>> 0, 4);
  scratch.writeUInt32BE(s.ssrc, 8);
  payload.copy(scratch, 12);
  s.seq = (s.seq + 1) & 0xffff;
  s.track.sendMessageBinary(scratch.subarray(0, 12 + payload.length));
}

function addTrack(pc: PeerConnection, kind: "video" | "audio", ssrc: number, msid: string): RtpStream {
  const media = kind === "video" ? new Video("0", "SendOnly") : new Audio("1", "SendOnly");
  if (kind === "video") (media as InstanceType<typeof Video>).addVideoCodec(VIDEO_PT, "VP8");
  else (media as InstanceType<typeof Audio>).addOpusCodec(AUDIO_PT);
  media.addSSRC(ssrc, `ndc-${msid}`, msid, `${msid}-${kind}`);
  const track = pc.addTrack(media);
  const clockRate = kind === "video" ? 90_000 : 48_000;
  const pt = kind === "video" ? VIDEO_PT : AUDIO_PT;
  const config = new RtpPacketizationConfig(ssrc, `ndc-${msid}`, pt, clockRate);
  const sr = new RtcpSrReporter(config);
  sr.addToChain(new RtcpNackResponder());
  track.setMediaHandler(sr);
  return { track, ssrc, pt, seq: Math.floor(Math.random() * 0xffff), tsBase: Math.floor(Math.random() * 2 ** 31), clockRate };
}

/** True for an RTCP compound packet that holds a PLI (RFC 4585 6.3.1: PT 206, FMT 1). */
function hasPli(msg: Buffer): boolean {
  for (let o = 0; o + 4 <= msg.length; o += (msg.readUInt16BE(o + 2) + 1) * 4) {
    if (msg[o + 1] === 206 && (msg[o]! & 0x1f) === 1) return true;
  }
  return false;
}

export interface NdcPublishOptions {
  url: string;
  clip: Clip;
  seconds?: number;
  /** Give up on one attempt when the peer is not connected after this long (default 6 s). */
  connectTimeoutMs?: number;
  /** Attempts in all (default 3); see the header comment. */
  attempts?: number;
  /** recbot's recordings directory (it names files relative to it): where offer→keyframe on disk is read. */
  recordingsDir?: string;
  onSending?: () => void;
  onSent?: () => void;
}

export interface NdcPublishResult {
  sessionId: string;
  connectAttempts: number;
  offerToAnswerMs: number;
  offerToConnectedMs: number;
  offerToKeyframeOnDiskMs: number;
  byeToFinishedMs: number;
  framesSent: SendStats;
  /** RTP timestamps of the frames sent, per kind, in send order (what the file's intervals must equal). */
  rtpTimestamps: { video: number[]; audio: number[] };
  secondsSent: number;
  answerSdp: string;
  finished: any;
}

interface Connected {
  pc: PeerConnection;
  client: WsClient;
  video: RtpStream;
  audio: RtpStream;
  sessionId: string;
  answerSdp: string;
  offerAt: number;
  offerToAnswerMs: number;
  offerToConnectedMs: number;
  keyframeWanted: { value: boolean };
}

let nextId = 0;

async function connectOnce(url: string, timeoutMs: number): Promise<Connected> {
  const msid = `ndc${process.pid}x${nextId++}`;
  const pc = new PeerConnection(msid, { iceServers: [], bindAddress: "127.0.0.1" });
  const client = new WsClient(url);
  const keyframeWanted = { value: false };
  try {
    const video = addTrack(pc, "video", (Math.random() * 2 ** 32) >>> 0, msid);
    const audio = addTrack(pc, "audio", (Math.random() * 2 ** 32) >>> 0, msid);
    video.track.onMessage((msg) => {
      if (hasPli(msg)) keyframeWanted.value = true;
    });
    const opened = Promise.all([video, audio].map((s) => new Promise<void>((resolve) => s.track.onOpen(() => resolve()))));
    await client.opened();
    client.socket.on("message", (raw) => {
      const m = JSON.parse(raw.toString());
      if (m.type === "candidate" && m.candidate?.candidate) {
        try {
          pc.addRemoteCandidate(m.candidate.candidate, m.candidate.sdpMid ?? "0");
        } catch {}
      }
    });
    pc.onLocalCandidate((candidate, mid) => client.send({ type: "candidate", candidate: { candidate, sdpMid: mid } }));
    const offer = new Promise<string>((resolve) => pc.onLocalDescription((sdp) => resolve(sdp)));
    pc.setLocalDescription();
    const offerAt = performance.now();
    client.send({ type: "offer", sdp: await offer });
    const answer = await client.waitFor((m) => m.type === "answer" || m.type === "error");
    if (answer.type === "error") throw new Error(`recbot refused the offer: ${answer.code}: ${answer.message}`);
    const offerToAnswerMs = performance.now() - offerAt;
    pc.setRemoteDescription(answer.sdp, "answer");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not connected after ${timeoutMs} ms (ICE ${pc.iceState()}, peer ${pc.state()})`)), timeoutMs);
    });
    try {
      await Promise.race([opened, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return {
      pc, client, video, audio, sessionId: answer.sessionId, answerSdp: answer.sdp, offerAt, offerToAnswerMs,
      offerToConnectedMs: performance.now() - offerAt, keyframeWanted,
    };
  } catch (err) {
    client.close();
    pc.close();
    throw err;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Publishes the clip to recbot's /ws with libdatachannel and waits for the finished recording. */
export async function publishNdc(options: NdcPublishOptions): Promise<NdcPublishResult> {
  const { url, clip, seconds = clip.seconds, connectTimeoutMs = 6000, attempts = 3 } = options;
  let c: Connected | undefined;
  let connectAttempts = 0;
  for (let lastError: unknown; !c; ) {
    if (connectAttempts === attempts) throw lastError;
    connectAttempts++;
    try {
      c = await connectOnce(url, connectTimeoutMs);
    } catch (err) {
      lastError = err;
    }
  }
  const { pc, client, video, audio, offerAt } = c;
  try {
    let offerToKeyframeOnDiskMs = NaN;
    void client.waitFor((m) => m.type === "recording" && m.state === "started", 30_000).then(async (m) => {
      while (Number.isNaN(offerToKeyframeOnDiskMs) && performance.now() - offerAt < 30_000) {
        if (options.recordingsDir && (statSync(path.resolve(options.recordingsDir, m.file), { throwIfNoEntry: false })?.size ?? 0) > KEYFRAME_ON_DISK_BYTES) offerToKeyframeOnDiskMs = performance.now() - offerAt;
        else await sleep(5);
      }
    }, () => {});

    options.onSending?.();
    const { schedule, intra } = packetize(clip);
    const sent: SendStats = { video: 0, audio: 0, keyframesOnRequest: 0, maxLateMs: 0, suppressed: 0 };
    const rtpTimestamps = { video: [] as number[], audio: [] as number[] };
    const start = performance.now();
    for (let loop = 0; loop * clip.seconds < seconds; loop++) {
      const offset = loop * clip.seconds;
      for (const frame of schedule) {
        const time = offset + frame.time;
        if (time >= seconds) break;
        const wait = start + time * 1000 - performance.now();
        if (wait > 1) await sleep(wait);
        else if (-wait > sent.maxLateMs) sent.maxLateMs = -wait;
        const stream = frame.kind === "video" ? video : audio;
        const timestamp = (stream.tsBase + Math.round(time * stream.clockRate)) >>> 0;
        let payloads = frame.payloads;
        if (frame.kind === "video" && c.keyframeWanted.value && intra[frame.index]) {
          c.keyframeWanted.value = false;
          payloads = intra[frame.index]!;
          sent.keyframesOnRequest++;
        }
        for (let i = 0; i < payloads.length; i++) sendRtp(stream, payloads[i]!, timestamp, frame.kind === "video" && i === payloads.length - 1);
        rtpTimestamps[frame.kind].push(timestamp);
        sent[frame.kind]++;
      }
    }
    await sleep(100); // let the last packets leave before hanging up
    options.onSent?.();
    const byeAt = performance.now();
    if (client.socket.readyState === client.socket.OPEN) client.send({ type: "bye" });
    const finished = await client.waitFor((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
    return {
      sessionId: c.sessionId, connectAttempts, offerToAnswerMs: c.offerToAnswerMs, offerToConnectedMs: c.offerToConnectedMs,
      offerToKeyframeOnDiskMs, byeToFinishedMs: client.arrivalOf(finished) - byeAt, framesSent: sent, rtpTimestamps,
      secondsSent: seconds, answerSdp: c.answerSdp, finished,
    };
  } finally {
    client.close();
    pc.close();
  }
}

/** Frees libdatachannel's threads so the process can exit (call once, when every publisher is done). */
export function ndcCleanup(): void {
  nodeDataChannel.cleanup();
}
