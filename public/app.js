// The demo page: pick devices and codecs, publish to recbot (or let recbot call), watch the call, play recordings.
import { RecbotCall } from "./client.js";

const $ = (id) => document.getElementById(id);
const ui = {
  camera: $("camera"), microphone: $("microphone"), videoCodec: $("video-codec"), audioCodec: $("audio-codec"),
  withCanvas: $("with-canvas"), asCall: $("as-call"), publish: $("publish"), stop: $("stop"), preview: $("preview"),
  canvas: $("canvas"), connState: $("conn-state"), recState: $("rec-state"), elapsed: $("elapsed"), session: $("session"),
  pair: $("pair"), sending: $("sending"), errors: $("errors"), log: $("log"), player: $("player"),
  recordings: document.querySelector("#recordings tbody"), noRecordings: $("no-recordings"), refresh: $("refresh"),
};

let call;
let streams = [];
let timers = [];
let recordingSince;

function log(text) {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  ui.log.prepend(li);
}

function pill(el, text, kind = "") {
  el.textContent = text;
  el.className = `pill ${kind}`;
}

/** Errors of one attempt stay listed in order: the first is the cause (a refused offer), later ones follow from it
 * (the browser's trickled candidates then reach a session that has ended: no_session). */
function showError(text) {
  ui.errors.textContent = ui.errors.textContent ? `${ui.errors.textContent}\n${text}` : text; // start() clears it
  ui.errors.hidden = false;
  log(`error: ${text}`);
}

async function listDevices() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  for (const [select, kind] of [[ui.camera, "videoinput"], [ui.microphone, "audioinput"]]) {
    const current = select.value;
    select.replaceChildren(...devices.filter((d) => d.kind === kind).map((d, i) => new Option(d.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${i + 1}`, d.deviceId)));
    if (current) select.value = current;
  }
}

function canvasStream() {
  const ctx = ui.canvas.getContext("2d");
  const start = performance.now();
  timers.push(setInterval(() => {
    const t = (performance.now() - start) / 1000;
    ctx.fillStyle = `hsl(${(t * 60) % 360} 70% 45%)`;
    ctx.fillRect(0, 0, 320, 240);
    ctx.fillStyle = "#fff";
    ctx.font = "bold 40px sans-serif";
    ctx.fillText(`${t.toFixed(1)} s`, 100, 135);
  }, 33));
  return ui.canvas.captureStream(30);
}

function codecName(spec) {
  return spec.split(";")[0].split("/")[1].toLowerCase();
}

async function start() {
  ui.errors.hidden = true;
  ui.errors.textContent = "";
  ui.publish.disabled = true;
  try {
    const camera = await navigator.mediaDevices.getUserMedia({
      video: ui.camera.value ? { deviceId: { exact: ui.camera.value }, width: 640, height: 480 } : { width: 640, height: 480 },
      audio: ui.microphone.value ? { deviceId: { exact: ui.microphone.value } } : true,
    });
    await listDevices();
    ui.preview.srcObject = camera;
    streams = [camera, ...(ui.withCanvas.checked ? [canvasStream()] : [])];
    const stereo = ui.audioCodec.value.endsWith(";stereo");
    const codecs = { video: ui.videoCodec.value || undefined, audio: ui.audioCodec.value.replace(";stereo", "") || undefined };
    const wsUrl = new URL("ws", location.href);
    wsUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token) wsUrl.searchParams.set("access_token", token);
    call = new RecbotCall({
      url: wsUrl.href, streams, codecs, stereo,
      callCodecs: ui.asCall.checked ? [codecs.video, codecs.audio].filter(Boolean).map(codecName) : undefined,
      onEvent: onCallEvent,
    });
    ui.stop.disabled = false;
    pill(ui.connState, "connecting", "busy");
    log(ui.asCall.checked ? "asking recbot to call" : "publishing");
    await (ui.asCall.checked ? call.call() : call.publish());
    ui.session.textContent = call.sessionId;
    timers.push(setInterval(updateStats, 1000));
  } catch (err) {
    if (!err.code) showError(`could not start: ${err.message}`); // server errors are already shown (onCallEvent)
    await stop();
  }
}

function onCallEvent(name, detail) {
  if (name === "state") {
    pill(ui.connState, detail, detail === "connected" ? "ok" : detail === "failed" || detail === "disconnected" ? "bad" : "busy");
    log(`connection ${detail}`);
    if (detail === "connected") void updateStats();
  } else if (name === "recording") {
    log(`recording ${detail.state}: ${detail.file.split("/").pop()}`);
    void refreshRecordings();
    if (detail.state === "started") {
      recordingSince ??= performance.now();
      pill(ui.recState, "recording", "rec");
    } else if (detail.state === "failed") {
      showError(`recording failed: ${detail.error ?? "unknown error"}`);
    }
  } else if (name === "error") {
    showError(`${detail.code}: ${detail.message}`);
  } else if (name === "closed") {
    log(`socket closed (${detail.code}${detail.reason ? `, ${detail.reason}` : ""})`);
  }
}

async function updateStats() {
  if (!call) return;
  // A recording's sidecar lands just after its "started" message: list it once it is there.
  const listed = new Set([...ui.recordings.rows].map((tr) => tr.dataset.id));
  if ([...call.recordings.keys()].some((id) => !listed.has(id))) void refreshRecordings();
  if (recordingSince !== undefined) ui.elapsed.textContent = `${((performance.now() - recordingSince) / 1000).toFixed(0)} s`;
  const pair = await call.selectedPair().catch(() => undefined);
  if (pair?.local) {
    ui.pair.textContent = `${pair.local.type}/${pair.local.protocol} ${pair.local.address}:${pair.local.port} ⇄ ` +
      `${pair.remote.type}/${pair.remote.protocol} ${pair.remote.address}:${pair.remote.port}`;
  }
  const stats = await call.senderStats().catch(() => []);
  if (stats.length) {
    ui.sending.textContent = stats.map((s) => s.kind === "video"
      ? `${s.codec?.split("/")[1] ?? "?"} ${s.frameWidth ?? "?"}x${s.frameHeight ?? "?"} ${s.framesSent ?? 0} frames`
      : `${s.codec?.split("/")[1] ?? "?"} ${s.packetsSent} packets`).join(" · ");
  }
}

async function stop() {
  ui.stop.disabled = true;
  for (const t of timers.splice(0)) clearInterval(t);
  if (call) {
    await updateStats();
    const current = call;
    call = undefined;
    const recordings = await current.stop();
    log(`stopped; ${recordings.filter((r) => r.state === "finished").length} recording(s) finished`);
  }
  for (const s of streams) s.getTracks().forEach((t) => t.stop());
  streams = [];
  ui.preview.srcObject = null;
  recordingSince = undefined;
  pill(ui.recState, "not recording");
  ui.elapsed.textContent = "";
  if (ui.connState.textContent !== "failed") pill(ui.connState, "idle");
  ui.publish.disabled = false;
  await refreshRecordings();
}

function formatBytes(n) {
  return n === undefined ? "—" : n > 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`;
}

/** With auth on, open the page as /?access_token=TOKEN: the token goes with every call the page makes. */
const token = new URLSearchParams(location.search).get("access_token");
const withToken = (url) => (token ? `${url}${url.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(token)}` : url);

async function refreshRecordings() {
  const response = await fetch(withToken("recordings"));
  if (!response.ok) return showError(`listing recordings failed: HTTP ${response.status}`);
  const { items: recordings } = await response.json();
  ui.noRecordings.hidden = recordings.length > 0;
  ui.recordings.replaceChildren(...recordings.map((r) => {
    const tr = document.createElement("tr");
    tr.dataset.id = r.id;
    const who = r.kind === "composite" ? ` (call ${r.call?.callId}: composite)` : r.call ? ` (call ${r.call.callId}: ${r.call.participantName})` : "";
    const cells = [
      new Date(r.startedAt).toLocaleTimeString(),
      r.tracks.map((t) => t.codec).join(" + "),
      r.file.split("/").pop() + who,
      r.durationMs === undefined ? "—" : `${(r.durationMs / 1000).toFixed(1)} s`,
      formatBytes(r.sizeBytes),
      r.state,
    ];
    for (const c of cells) tr.insertCell().textContent = c;
    const play = document.createElement("button");
    play.textContent = "▶ Play";
    play.className = "play";
    play.onclick = () => {
      ui.player.hidden = false;
      ui.player.src = withToken(`recordings/${r.id}/file`);
      void ui.player.play().catch((err) => showError(`cannot play ${r.file} here: ${err.message}`));
    };
    tr.insertCell().append(play);
    return tr;
  }));
}

ui.publish.onclick = () => void start();
ui.stop.onclick = () => void stop();
ui.refresh.onclick = () => void refreshRecordings();
// Call mode (callMode.js) says when a call's recordings or composite change.
addEventListener("recbot:recordings-changed", () => void refreshRecordings());
ui.player.onerror = () => showError("this browser cannot play that file (Matroska with H.264/G.711 needs a desktop player)");
void listDevices();
void refreshRecordings();
