import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { SessionTotals } from "../session/session.ts";
import type { SessionRegistry } from "../session/sessionRegistry.ts";
import type { LimitName } from "../session/mediaBudget.ts";

const totalsHelp: Partial<Record<keyof SessionTotals, [string, string]>> = {
  packets: ["recbot_rtp_packets_received_total", "RTP packets received"],
  bytes: ["recbot_rtp_bytes_received_total", "RTP payload bytes received"],
  lost: ["recbot_rtp_packets_lost_total", "RTP packets given up as lost by the jitter buffers"],
  nacks: ["recbot_nacks_sent_total", "NACK feedback messages sent"],
  keyframeRequests: ["recbot_plis_sent_total", "keyframe requests (PLI) sent"],
  framesWritten: ["recbot_frames_written_total", "frames handed to the recorders"],
  recordingBytes: ["recbot_recording_bytes_total", "media bytes handed to the recorders"],
  timelineJumps: ["recbot_timeline_jumps_total", "times a track's RTP timestamps ran ahead of real time and it went on on a new timeline"],
};

/** Frames given up, by reason (the rest of framesDropped is "incomplete": lost packets, waiting for a keyframe). */
const dropReasons = { too_large: "framesTooLarge", invalid: "framesInvalid", backwards: "framesBackwards" } as const;

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
  new Gauge({
    name: "recbot_media_streams_active", help: "remote MediaStreams admitted now (each is one recording and one ffmpeg process)", registers: [register],
    collect() {
      this.set(registry.budget.streamsActive);
    },
  });
  new Gauge({
    name: "recbot_media_tracks_active", help: "tracks admitted now over all sessions", registers: [register],
    collect() {
      this.set(registry.budget.tracksActive);
    },
  });
  new Counter({
    name: "recbot_offers_refused_total", help: "offers and answers refused by a media limit (media_sections, tracks, streams, streams_total)",
    labelNames: ["limit"], registers: [register],
    collect() {
      this.reset();
      for (const limit of ["media_sections", "tracks", "streams", "streams_total"] as LimitName[]) this.inc({ limit }, registry.budget.refused(limit));
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
  new Counter({
    name: "recbot_frames_dropped_total", help: "frames not written, by reason: too_large (never ended), invalid (garbage), backwards (timestamp), incomplete (loss, before a keyframe)",
    labelNames: ["reason"], registers: [register],
    collect() {
      this.reset();
      const totals = registry.totals();
      let named = 0;
      for (const [reason, key] of Object.entries(dropReasons)) {
        this.inc({ reason }, totals[key]);
        named += totals[key];
      }
      this.inc({ reason: "incomplete" }, Math.max(0, totals.framesDropped - named));
    },
  });
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
