/**
 * A werift publisher for the deployment test. It runs in a container of the recbot image on the compose network
 * (Node 26, werift and Debian's ffmpeg are there), so it imports nothing but werift and Node.
 *
 *   node publisher.ts --recbot http://172.28.0.10:8080 --via relay|direct --seconds 4
 *
 * Asks recbot for ICE servers (GET /ice-servers), publishes VP8 + Opus (one MediaStream) over /ws: "relay" uses only
 * TURN relay candidates (iceTransportPolicy "relay", through coturn), "direct" gets STUN only and no TURN. ffmpeg
 * encodes a test pattern and a tone in real time to RTP on loopback; each packet is forwarded to werift's tracks.
 * Prints one JSON object per line (events), the last one `{"event":"done",...}` or `{"event":"closed",...}` when
 * recbot ends the socket (e.g. stopped with SIGTERM), and exits 0 in both cases.
 */
import { spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { once } from "node:events";
import { parseArgs } from "node:util";
import {
  MediaStream, MediaStreamTrack, RTCPeerConnection, RtpPacket, useOPUS, useVP8, type RTCIceServer, type RTCRtpSender,
} from "werift";

const { values } = parseArgs({
  options: { recbot: { type: "string" }, via: { type: "string" }, seconds: { type: "string", default: "4" } },
});
const recbot = values.recbot ?? fail("--recbot URL is required");
const via = values.via === "relay" || values.via === "direct" ? values.via : fail("--via must be relay or direct");
const seconds = Number(values.seconds);

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}
const emit = (event: string, data: object = {}) => console.log(JSON.stringify({ event, ...data }));

const servers = (await (await fetch(new URL("/ice-servers", recbot))).json()) as RTCIceServer[];
emit("ice-servers", { urls: servers.flatMap((s) => s.urls), withCredentials: servers.some((s) => !!s.credential) });
const urlsOf = (s: RTCIceServer) => (Array.isArray(s.urls) ? s.urls : [s.urls]);
const iceServers = via === "relay" ? servers : servers.filter((s) => urlsOf(s).every((u) => u.startsWith("stun:")));

const pc = new RTCPeerConnection({
  iceServers,
  iceTransportPolicy: via === "relay" ? "relay" : "all",
  codecs: { video: [useVP8()], audio: [useOPUS()] },
});
const video = new MediaStreamTrack({ kind: "video" });
const audio = new MediaStreamTrack({ kind: "audio" });
const stream = new MediaStream([video, audio]);
for (const track of [video, audio]) correctSenderReports(pc.addTransceiver(track, { direction: "sendonly", streams: [stream] }).sender);

const ws = new WebSocket(new URL("/ws", recbot.replace(/^http/, "ws")));
const messages: any[] = [];
const waiters: Array<() => void> = [];
let closed: { code: number; reason: string } | undefined;
ws.onmessage = (e) => {
  const m = JSON.parse(String(e.data));
  if (m.type === "candidate" && m.candidate) void pc.addIceCandidate(m.candidate).catch(() => {});
  if (m.type === "recording") emit("recording", { state: m.state, file: m.file });
  messages.push(m);
  waiters.splice(0).forEach((w) => w());
};
ws.onclose = (e) => {
  closed = { code: e.code, reason: e.reason };
  waiters.splice(0).forEach((w) => w());
};
/** The first message matching `match`; rejects when the socket closes first. */
async function next(match: (m: any) => boolean, timeoutMs = 20_000): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = messages.find(match);
    if (found) return found;
    if (closed) throw new Error(`socket closed (${closed.code} ${closed.reason}) while waiting`);
    if (Date.now() > deadline) throw new Error(`no matching message after ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      waiters.push(resolve);
      setTimeout(resolve, 200);
    });
  }
}
await once(ws, "open");
pc.onIceCandidate.subscribe((c) => ws.send(JSON.stringify({ type: "candidate", candidate: c ? c.toJSON() : null })));

await pc.setLocalDescription(await pc.createOffer());
ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription!.sdp }));
const answer = await next((m) => m.type === "answer" || m.type === "error");
if (answer.type === "error") fail(`recbot refused the offer: ${answer.code}: ${answer.message}`);
await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
await new Promise<void>((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`not connected: ${pc.connectionState}`)), 20_000);
  pc.connectionStateChange.subscribe((state) => {
    if (state === "connected") resolve();
    if (state === "failed") reject(new Error("ICE/DTLS failed"));
  });
  if (pc.connectionState === "connected") resolve();
}).catch((err) => fail(String(err)));
const nominated = pc.iceTransports[0]?.connection.nominated;
emit("connected", {
  sessionId: answer.sessionId,
  local: { type: nominated?.localCandidate.type, address: nominated?.localCandidate.host },
  remote: { type: nominated?.remoteCandidate.type, address: nominated?.remoteCandidate.host },
});

// Media: ffmpeg paces a 320x240 30 fps test pattern (VP8, a keyframe every second) and a 440 Hz tone (Opus) in
// real time as RTP to two loopback sockets; werift re-stamps SSRC and payload type per sender.
const sent = { videoFrames: 0, audioFrames: 0 };
const forward = async (track: MediaStreamTrack, count: (p: RtpPacket) => void): Promise<Socket> => {
  const socket = createSocket("udp4");
  socket.on("message", (data) => {
    const packet = RtpPacket.deSerialize(data);
    track.writeRtp(packet);
    count(packet);
  });
  socket.bind(0, "127.0.0.1");
  await once(socket, "listening");
  return socket;
};
const videoIn = await forward(video, (p) => void (p.header.marker && sent.videoFrames++));
const audioIn = await forward(audio, () => void sent.audioFrames++);
const ffmpeg = spawn("ffmpeg", [
  "-hide_banner", "-loglevel", "error", "-nostdin",
  "-re", "-t", String(seconds), "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=30",
  "-re", "-t", String(seconds), "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
  "-map", "0:v", "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "600k", "-g", "30", "-pix_fmt", "yuv420p",
  "-f", "rtp", "-payload_type", "96", `rtp://127.0.0.1:${videoIn.address().port}?pkt_size=1200`,
  "-map", "1:a", "-c:a", "libopus", "-b:a", "48k", "-ac", "2",
  "-f", "rtp", "-payload_type", "111", `rtp://127.0.0.1:${audioIn.address().port}?pkt_size=1200`,
], { stdio: ["ignore", "ignore", "inherit"] });
const started = performance.now();
emit("sending", { seconds });
// recbot going away (docker-compose stop) ends the socket: stop the media and report what was sent until then.
const ended = closed ? Promise.resolve([null]) : once(ws, "close").then(() => [null]);
const [code] = await Promise.race([once(ffmpeg, "exit"), ended]);
ffmpeg.kill("SIGKILL");
const secondsSent = (performance.now() - started) / 1000;
await new Promise((r) => setTimeout(r, 300)); // the last packets leave werift's queue
videoIn.close();
audioIn.close();

if (closed) {
  emit("closed", { ...closed, ...sent, secondsSent });
} else {
  if (code !== 0) fail(`ffmpeg exited with ${code}`);
  emit("sent", { ...sent, secondsSent });
  ws.send(JSON.stringify({ type: "bye" }));
  const finished = await next((m) => m.type === "recording" && (m.state === "finished" || m.state === "failed"), 30_000);
  emit("done", { ...sent, secondsSent, state: finished.state, file: finished.file });
}
await pc.close();
ws.close();
process.exit(0);

/**
 * werift 0.25.2 writes the NTP fraction of its RTCP sender reports wrong (it puts the decimal digits of the
 * seconds there). It takes the SR's time from a field it sets per sent packet: keep an RFC 3550 timestamp there.
 */
function correctSenderReports(sender: RTCRtpSender): void {
  let ntp = 0n;
  Object.defineProperty(sender, "ntpTimestamp", {
    configurable: true,
    get: () => ntp,
    set: () => {
      const unixSeconds = (performance.timeOrigin + performance.now()) / 1000 + 2_208_988_800;
      const whole = Math.floor(unixSeconds);
      ntp = (BigInt(whole) << 32n) | BigInt(Math.min(2 ** 32 - 1, Math.round((unixSeconds - whole) * 2 ** 32)));
    },
  });
}
