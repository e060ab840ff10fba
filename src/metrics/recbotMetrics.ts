import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { SessionTotals } from "../session/session.ts";
import type { SessionRegistry } from "../session/sessionRegistry.ts";

const totalsHelp: Record<keyof SessionTotals, [string, string]> = {
  packets: ["recbot_rtp_packets_received_total", "RTP packets received"],
  bytes: ["recbot_rtp_bytes_received_total", "RTP payload bytes received"],
  lost: ["recbot_rtp_packets_lost_total", "RTP packets given up as lost by the jitter buffers"],
  nacks: ["recbot_nacks_sent_total", "NACK feedback messages sent"],
  keyframeRequests: ["recbot_plis_sent_total", "keyframe requests (PLI) sent"],
  framesWritten: ["recbot_frames_written_total", "frames handed to the recorders"],
  recordingBytes: ["recbot_recording_bytes_total", "media bytes handed to the recorders"],
};

/**
 * Prometheus metrics for one recbot instance (its own registry, so several instances can live in
 * one process). Counters are read from the sessions at scrape time: nothing is counted per packet here.
 */
export function createMetrics(registry: SessionRegistry): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register, prefix: "recbot_" }); // includes event-loop lag

  new Gauge({
    name: "recbot_sessions_active", help: "sessions open now", registers: [register],
    collect() {
      this.set(registry.size);
    },
  });
  new Gauge({
    name: "recbot_tracks_active", help: "tracks received now, by kind and codec", labelNames: ["kind", "codec"], registers: [register],
    collect() {
      this.reset();
      for (const s of registry.list()) {
        for (const kc of s.trackCodecs) {
          const [kind, codec] = kc.split(":");
          this.inc({ kind, codec });
        }
      }
    },
  });
  for (const [key, [name, help]] of Object.entries(totalsHelp) as [keyof SessionTotals, [string, string]][]) {
    new Counter({
      name, help, registers: [register],
      collect() {
        this.reset();
        this.inc(registry.totals()[key]);
      },
    });
  }
  const recordings = new Counter({
    name: "recbot_recordings_total", help: "recordings by outcome (started, finished, failed: ffmpeg exits by reason)",
    labelNames: ["state"], registers: [register],
  });
  const sessionsClosed = new Counter({
    name: "recbot_sessions_closed_total", help: "sessions closed, by reason", labelNames: ["reason"], registers: [register],
  });
  if (registry.workerSessionsStarted) {
    new Counter({
      name: "recbot_worker_sessions_total", help: "sessions placed on each session worker thread (config workers > 1)",
      labelNames: ["worker"], registers: [register],
      collect() {
        this.reset();
        registry.workerSessionsStarted?.forEach((n, worker) => this.inc({ worker: String(worker) }, n));
      },
    });
  }
  registry.on("recording", (e) => recordings.inc({ state: e.state }));
  registry.on("closed", (reason) => sessionsClosed.inc({ reason }));
  return register;
}
