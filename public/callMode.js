// The demo page's call mode: join a call, publish to recbot on the same socket, and call the other participants
// peer to peer through recbot's relay (CallPeers). Plain ES module, no build step.
import { RecbotCall } from "./client.js";
import { CallPeers } from "./callPeers.js";

const $ = (id) => document.getElementById(id);
const ui = { id: $("call-id"), name: $("call-name"), join: $("call-join"), leave: $("call-leave"), status: $("call-status"), videos: $("call-videos"), self: $("call-self") };
const token = new URLSearchParams(location.search).get("access_token");
let session;

const status = (text) => (ui.status.textContent = text);
const changed = () => dispatchEvent(new Event("recbot:recordings-changed"));

function tile(participantId, name) {
  let figure = document.getElementById(`peer-${participantId}`);
  if (!figure) {
    figure = document.createElement("figure");
    figure.id = `peer-${participantId}`;
    figure.append(Object.assign(document.createElement("video"), { autoplay: true, playsInline: true }), document.createElement("figcaption"));
    ui.videos.append(figure);
  }
  figure.querySelector("figcaption").textContent = name ?? participantId;
  return figure;
}

async function join() {
  if (!ui.id.reportValidity() || !ui.name.reportValidity()) return;
  ui.join.disabled = true;
  try {
    const camera = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true });
    ui.self.srcObject = camera;
    const wsUrl = new URL("ws", location.href);
    wsUrl.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    if (token) wsUrl.searchParams.set("access_token", token);
    const call = new RecbotCall({
      url: wsUrl.href, streams: [camera], join: { callId: ui.id.value, name: ui.name.value },
      onEvent: (name, m) => {
        if (name === "recording") changed();
        if (name === "error") status(`error ${m.code}: ${m.message}`);
        if (name !== "message") return;
        if (m.type === "participant-joined") status(`${m.participant.name} joined`);
        if (m.type === "participant-left") document.getElementById(`peer-${m.participantId}`)?.remove();
        if (m.type === "composite") {
          status(`composite ${m.state}${m.percent !== undefined ? ` ${m.percent}%` : ""}${m.error ? `: ${m.error}` : ""}`);
          if (m.state === "finished" || m.state === "failed") changed();
        }
      },
    });
    await call.publish();
    const peers = new CallPeers({
      call, stream: camera,
      onEvent: (name, d) => {
        if (name === "track") tile(d.participantId, d.name).querySelector("video").srcObject = d.stream;
        if (name === "state") status(`${d.name ?? d.participantId}: ${d.state}`);
      },
    });
    await peers.start();
    session = { call, peers, camera };
    status(`in call ${ui.id.value} as ${ui.name.value} (${call.joined.participants.length} others); recording`);
    ui.leave.disabled = false;
  } catch (err) {
    status(`could not join: ${err.message}`);
    ui.join.disabled = false;
  }
}

async function leave() {
  ui.leave.disabled = true;
  const s = session;
  session = undefined;
  if (s) {
    s.peers.close();
    s.camera.getTracks().forEach((t) => t.stop());
    await s.call.stop();
  }
  for (const f of [...ui.videos.querySelectorAll("figure[id^=peer-]")]) f.remove();
  ui.self.srcObject = null;
  status("left the call; when the last one leaves, its composite is made (see Recordings)");
  ui.join.disabled = false;
  changed();
  // The composite comes a few seconds after the call ends: look again for a while.
  for (let i = 1; i <= 6; i++) setTimeout(changed, i * 5000);
}

ui.name.value ||= `guest-${Math.random().toString(36).slice(2, 6)}`;
ui.join.onclick = () => void join();
ui.leave.onclick = () => void leave();
