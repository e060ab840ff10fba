/**
 * The benchmark's baseline: the smallest server that records the same load with werift's own
 * `MediaRecorder` (werift/nonstandard, WebM, default options), speaking the part of recbot's /ws
 * protocol the load generator uses (offer, candidate, bye → answer, candidate, recording).
 *
 *   node bench/baseline/server.ts            env: BASELINE_PORT (0), BASELINE_DIR (required)
 *
 * Prints one JSON line `{"msg":"listening","url":...}` when ready; SIGTERM finalizes and exits.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import path from "node:path";
import { RTCPeerConnection } from "werift";
import { MediaRecorder } from "werift/nonstandard";
import { WebSocketServer, type WebSocket } from "ws";
import { resolveConfig } from "../../src/config/loadConfig.ts";
import { codecTable } from "../../src/session/codecs.ts";
import { iceOptions } from "../../src/session/iceOptions.ts";

const dir = process.env.BASELINE_DIR;
if (!dir) throw new Error("BASELINE_DIR is required");
const config = resolveConfig({ iceAddresses: ["127.0.0.1"] });
const sessions = new Set<Session>();

class Session {
  private pc: RTCPeerConnection | undefined;
  private recorder: MediaRecorder | undefined;
  private readonly id = `base_${randomBytes(4).toString("hex")}`;
  private readonly file = path.join(dir!, `${this.id}.webm`);
  private closing: Promise<void> | undefined;
  private readonly socket: WebSocket;

  constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on("message", (data) => void this.onMessage(JSON.parse(data.toString())).catch((err) => this.send({ type: "error", code: "internal", message: String(err) })));
    socket.on("close", () => void this.close());
  }

  private send(m: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(m));
  }

  private async onMessage(m: any): Promise<void> {
    if (m.type === "offer") {
      const pc = new RTCPeerConnection({
        ...iceOptions(config, this.id),
        codecs: { video: [codecTable.vp8.params("")], audio: [codecTable.opus.params("")] },
      });
      this.pc = pc;
      const recorder = new MediaRecorder({ path: this.file, numOfTracks: 2, width: 640, height: 480 });
      this.recorder = recorder;
      pc.onIceCandidate.subscribe((c) => this.send({ type: "candidate", candidate: c ? c.toJSON() : null }));
      pc.ontrack = ({ track }) => void recorder.addTrack(track);
      await pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      this.send({ type: "answer", sdp: pc.localDescription!.sdp, sessionId: this.id });
      this.send({ type: "recording", state: "started", recordingId: this.id, file: this.file, streamId: "-" });
    } else if (m.type === "candidate" && m.candidate?.candidate) {
      await this.pc?.addIceCandidate(m.candidate);
    } else if (m.type === "bye") {
      await this.close();
      this.socket.close(1000, "bye");
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      sessions.delete(this);
      await this.recorder?.stop();
      this.send({ type: "recording", state: "finished", recordingId: this.id, file: this.file, streamId: "-" });
      await this.pc?.close();
    })();
    return this.closing;
  }
}

const server = createServer((_req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server, path: "/ws" });
wss.on("connection", (socket) => sessions.add(new Session(socket)));
server.listen(Number(process.env.BASELINE_PORT ?? 0), "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(JSON.stringify({ msg: "listening", url: `http://127.0.0.1:${port}` }));
});
process.on("SIGTERM", () => {
  void Promise.all([...sessions].map((s) => s.close())).then(() => process.exit(0));
});
