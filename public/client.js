// recbot browser client: publishes MediaStreams to recbot over /ws (offer or, with `call`, answer),
// trickling ICE both ways. Plain ES module, no build step; used by the demo page and the Chromium tests.

const isLoopback = (address) => address === "::1" || address.startsWith("127.");

/** The address field of an ICE candidate line (`candidate:… <component> <proto> <prio> <address> …`). */
export function candidateAddress(line) {
  return (line ?? "").replace(/^a=/, "").split(" ")[4] ?? "";
}

/**
 * Codecs to force on a transceiver, from specs such as "video/VP9" or "video/H264;profile-level-id=42e01f".
 * Only the named codec is kept (plus its retransmission payload), so the browser's offer carries nothing else.
 */
export function codecPreferences(kind, spec) {
  const [mimeType, ...params] = spec.split(";");
  const all = RTCRtpReceiver.getCapabilities(kind)?.codecs ?? [];
  const wanted = all.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase() &&
    params.every((p) => (c.sdpFmtpLine ?? "").split(";").includes(p)));
  if (wanted.length === 0) throw new Error(`this browser cannot send ${spec}`);
  return [...wanted, ...all.filter((c) => c.mimeType.toLowerCase() === `${kind}/rtx`)];
}

/** Adds `stereo=1` to every Opus fmtp line: asks the answerer to let this browser send stereo. */
export function withOpusStereo(sdp) {
  const pts = [...sdp.matchAll(/^a=rtpmap:(\d+) opus\/48000\/2/gim)].map((m) => m[1]);
  return pts.reduce((text, pt) => text.replace(new RegExp(`^(a=fmtp:${pt} .*?)(\r?)$`, "m"),
    (line, body, cr) => (/stereo=1/.test(body) ? line : `${body};stereo=1${cr}`)), sdp);
}

/**
 * One call to recbot. Events (`onEvent(name, detail)`): "state" (connection state), "message" (every
 * server message), "recording", "error" (server error messages), "closed".
 */
export class RecbotCall {
  constructor({ url, streams, codecs = {}, callCodecs, loopbackOnly = false, stereo = false, join, onEvent = () => {} }) {
    /** `{ callId, name }`: join that call on the socket first; the recording is then this participant's. */
    this.join = join;
    this.joined = undefined;
    this.callCodecs = callCodecs;
    this.stereo = stereo;
    this.url = url;
    this.streams = streams;
    this.codecs = codecs;
    this.loopbackOnly = loopbackOnly;
    this.onEvent = onEvent;
    this.recordings = new Map();
    this.errors = [];
    this.sessionId = undefined;
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.onicecandidate = ({ candidate }) => {
      if (candidate && candidate.candidate && this.loopbackOnly && !isLoopback(candidateAddress(candidate.candidate))) return;
      this.send({ type: "candidate", candidate: candidate ? candidate.toJSON() : null });
    };
    this.pc.onconnectionstatechange = () => this.onEvent("state", this.pc.connectionState);
    this.waiters = [];
  }

  async open() {
    this.ws = new WebSocket(this.url);
    this.ws.onmessage = (e) => this.onMessage(JSON.parse(e.data));
    this.ws.onclose = (e) => {
      this.closeCode = e.code;
      this.onEvent("closed", { code: e.code, reason: e.reason });
      for (const w of this.waiters.splice(0)) w.reject(new Error(`socket closed (${e.code} ${e.reason})`));
    };
    await new Promise((resolve, reject) => {
      this.ws.onopen = resolve;
      this.ws.onerror = () => reject(new Error(`cannot open ${this.url}`));
    });
    if (this.join) {
      const joined = this.waitFor((m) => m.type === "joined");
      this.send({ type: "join", ...this.join });
      this.joined = await joined;
    }
  }

  send(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** Resolves with the next server message that matches (an error message rejects). */
  waitFor(match, timeoutMs = 20000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("timed out waiting for recbot")), timeoutMs);
      this.waiters.push({
        match,
        resolve: (m) => (clearTimeout(timer), resolve(m)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
  }

  async onMessage(m) {
    this.onEvent("message", m);
    if (m.type === "error") {
      this.errors.push(m);
      this.onEvent("error", m);
      for (const w of this.waiters.splice(0)) w.reject(Object.assign(new Error(`${m.code}: ${m.message}`), { code: m.code }));
      return;
    }
    if (m.type === "candidate") {
      if (m.candidate && this.loopbackOnly && !isLoopback(candidateAddress(m.candidate.candidate))) return;
      await this.pc.addIceCandidate(m.candidate ?? undefined).catch(() => {});
    } else if (m.type === "recording") {
      this.recordings.set(m.recordingId, m);
      this.onEvent("recording", m);
    }
    this.waiters = this.waiters.filter((w) => (w.match(m) ? (w.resolve(m), false) : true));
  }

  forceCodecs(transceiver, kind) {
    const spec = this.codecs[kind];
    if (spec) transceiver.setCodecPreferences(codecPreferences(kind, spec));
  }

  /** The browser offers, recbot answers. */
  async publish() {
    await this.open();
    for (const stream of this.streams) {
      for (const track of stream.getTracks()) {
        const t = this.pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
        this.forceCodecs(t, track.kind);
      }
    }
    await this.pc.setLocalDescription(await this.pc.createOffer());
    const answer = this.waitFor((m) => m.type === "answer");
    const sdp = this.pc.localDescription.sdp;
    this.send({ type: "offer", sdp: this.stereo ? withOpusStereo(sdp) : sdp });
    const m = await answer;
    this.sessionId = m.sessionId;
    await this.pc.setRemoteDescription({ type: "answer", sdp: m.sdp });
    return this;
  }

  /**
   * recbot offers (`{"type":"call"}`), the browser answers with the first stream's tracks. recbot offers
   * one codec per kind; `callCodecs` (e.g. ["h264", "pcma"]) asks for others.
   */
  async call() {
    await this.open();
    const offered = this.waitFor((m) => m.type === "offer");
    this.send(this.callCodecs ? { type: "call", codecs: this.callCodecs } : { type: "call" });
    const m = await offered;
    this.sessionId = m.sessionId;
    await this.pc.setRemoteDescription({ type: "offer", sdp: m.sdp });
    const stream = this.streams[0];
    for (const t of this.pc.getTransceivers()) {
      const kind = t.receiver.track.kind;
      const track = stream.getTracks().find((x) => x.kind === kind);
      if (!track) continue;
      t.direction = "sendonly";
      await t.sender.replaceTrack(track);
      t.sender.setStreams(stream);
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    this.send({ type: "answer", sdp: this.pc.localDescription.sdp });
    return this;
  }

  connected(timeoutMs = 15000) {
    if (this.pc.connectionState === "connected") return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not connected: ${this.pc.connectionState}`)), timeoutMs);
      this.pc.addEventListener("connectionstatechange", () => {
        if (this.pc.connectionState === "connected") (clearTimeout(timer), resolve());
        if (this.pc.connectionState === "failed") (clearTimeout(timer), reject(new Error("connection failed")));
      });
    });
  }

  /** Sender statistics per transceiver (mid): what the browser encoded and sent. */
  async senderStats() {
    const report = await this.pc.getStats();
    const codecs = new Map();
    report.forEach((s) => s.type === "codec" && codecs.set(s.id, s));
    const out = [];
    report.forEach((s) => {
      if (s.type !== "outbound-rtp") return;
      out.push({
        mid: s.mid, kind: s.kind, ssrc: s.ssrc, codec: codecs.get(s.codecId)?.mimeType,
        sdpFmtpLine: codecs.get(s.codecId)?.sdpFmtpLine, channels: codecs.get(s.codecId)?.channels,
        packetsSent: s.packetsSent, framesEncoded: s.framesEncoded, framesSent: s.framesSent,
        frameWidth: s.frameWidth, frameHeight: s.frameHeight, encoderImplementation: s.encoderImplementation,
        qualityLimitationReason: s.qualityLimitationReason,
      });
    });
    const streamOfMid = new Map();
    for (const t of this.pc.getTransceivers()) {
      const track = t.sender.track;
      const stream = track && this.streams.find((st) => st.getTracks().includes(track));
      if (t.mid !== null && stream) streamOfMid.set(t.mid, stream.id);
    }
    for (const o of out) o.streamId = streamOfMid.get(o.mid);
    return out;
  }

  /** The ICE candidate pair in use: types, protocol, addresses. */
  async selectedPair() {
    const report = await this.pc.getStats();
    let pair;
    report.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) pair = report.get(s.selectedCandidatePairId);
    });
    if (!pair) report.forEach((s) => { if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair ??= s; });
    if (!pair) return undefined;
    const side = (c) => c && { type: c.candidateType, protocol: c.protocol, address: c.address, port: c.port };
    return { local: side(report.get(pair.localCandidateId)), remote: side(report.get(pair.remoteCandidateId)), rtt: pair.currentRoundTripTime };
  }

  /** Hangs up (`bye`) and resolves once every started recording is finished or failed. */
  async stop(timeoutMs = 30000) {
    const done = new Promise((resolve) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return resolve();
      const timer = setTimeout(resolve, timeoutMs);
      this.ws.addEventListener("close", () => (clearTimeout(timer), resolve()));
    });
    this.send({ type: "bye" });
    await done;
    this.pc.close();
    return [...this.recordings.values()];
  }
}
