// Runs in Chromium (loaded by chromiumEcho.test.ts): publishes the fake camera and microphone to recbot
// over /ws in echo mode and reports what comes back, decoded: rendered frames and audio levels.
globalThis.runEcho = async (wsUrl, durationMs) => {
  const media = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240, frameRate: 30 }, audio: true });
  const pc = new RTCPeerConnection({ iceServers: [] });
  for (const track of media.getTracks()) pc.addTransceiver(track, { direction: "sendrecv", streams: [media] });
  const ws = new WebSocket(wsUrl);
  const messages = [];
  const waitFor = (match) =>
    new Promise((resolve) => {
      const seen = messages.find(match);
      if (seen) return resolve(seen);
      const onMessage = () => {
        const m = messages.find(match);
        if (m) {
          ws.removeEventListener("message", onMessage);
          resolve(m);
        }
      };
      ws.addEventListener("message", onMessage);
    });
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(e.data);
    messages.push(m);
    if (m.type === "candidate" && m.candidate) void pc.addIceCandidate(m.candidate).catch(() => {});
  });
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  pc.onicecandidate = (e) => ws.send(JSON.stringify({ type: "candidate", candidate: e.candidate ? e.candidate.toJSON() : null }));

  const remote = new MediaStream();
  pc.ontrack = (e) => remote.addTrack(e.track);
  await pc.setLocalDescription(await pc.createOffer());
  ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp, mode: "echo" }));
  const answer = await waitFor((m) => m.type === "answer" || m.type === "error");
  if (answer.type === "error") return { error: `${answer.code}: ${answer.message}` };
  await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });

  // Render the echoed video and count frames as they are presented.
  const video = document.createElement("video");
  video.muted = true;
  video.autoplay = true;
  video.srcObject = remote;
  document.body.append(video);
  let framesRendered = 0;
  const onFrame = () => {
    framesRendered++;
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  await video.play().catch(() => {});
  // Chromium computes received audio levels where audio is played out: play the echo, and also measure it.
  const audio = document.createElement("audio");
  audio.srcObject = new MediaStream(remote.getAudioTracks());
  document.body.append(audio);
  await audio.play().catch(() => {});
  const context = new AudioContext();
  const analyser = context.createAnalyser();
  context.createMediaStreamSource(new MediaStream(remote.getAudioTracks())).connect(analyser);
  const samples = new Float32Array(analyser.fftSize);
  let peak = 0;
  const level = setInterval(() => {
    analyser.getFloatTimeDomainData(samples);
    for (const v of samples) peak = Math.max(peak, Math.abs(v));
  }, 50);
  await new Promise((r) => setTimeout(r, durationMs));

  clearInterval(level);
  const stats = {};
  (await pc.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp") stats[`in-${s.kind}`] = s;
    if (s.type === "outbound-rtp") stats[`out-${s.kind}`] = s;
  });
  ws.send(JSON.stringify({ type: "bye" }));
  const finished = await waitFor((m) => m.type === "recording" && m.state !== "started");
  pc.close();
  return {
    framesRendered,
    videoSize: [video.videoWidth, video.videoHeight],
    videoFramesDecoded: stats["in-video"]?.framesDecoded ?? 0,
    videoFramesSent: stats["out-video"]?.framesSent ?? 0,
    audioLevel: stats["in-audio"]?.audioLevel ?? 0,
    audioEnergy: stats["in-audio"]?.totalAudioEnergy ?? 0,
    analyserPeak: peak,
    audioSamples: stats["in-audio"]?.totalSamplesReceived ?? 0,
    finished,
  };
};
