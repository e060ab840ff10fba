import { EventEmitter } from "node:events";
import path from "node:path";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { Config } from "../config/schema.ts";
import type { RecordingMetadata } from "../recordings/metadata.ts";
import type { RecordingStore } from "../recordings/store.ts";
import type { CloseReason, Session } from "../session/session.ts";
import { RecbotError, errorMessage } from "../util/errors.ts";
import { Call, type Participant, type ParticipantLink } from "./call.ts";
import { Compositor } from "./composite/compositor.ts";
import type { LayoutParticipant, MediaPiece } from "./composite/layout.ts";
import { CALL_ID_PATTERN, PARTICIPANT_ID_PATTERN } from "../signaling/schemas/callMessages.ts";

/** Ended calls kept for GET /calls (newest first); older ones are forgotten (their files stay in the store). */
const HISTORY = 500;
/** After a call ends, how long its recordings may take to be finalized before the composite uses what there is. */
const FINALIZE_WAIT_MS = 15_000;

export interface CallRegistryEvents {
  /** The call ended and its participants' recordings are final (or waited for long enough). */
  finished: [Call];
  composite: [Call];
}

export interface CallRegistryDeps {
  config: Config;
  store: RecordingStore;
  log: Logger;
}

/**
 * Every call: the live ones by id, and the history. Knows which sessions publish for which participant, and makes
 * the composite when a call ends (or when asked).
 */
export class CallRegistry extends EventEmitter<CallRegistryEvents> {
  private readonly live = new Map<string, Call>();
  private readonly history: Call[] = [];
  private readonly sessions = new Map<Call, Set<Session>>();
  private readonly deps: CallRegistryDeps;
  readonly compositor: Compositor;
  /** The composite job running or waiting per call. */
  private readonly jobs = new Map<Call, Promise<void>>();

  constructor(deps: CallRegistryDeps) {
    super();
    this.deps = deps;
    const [width, height] = deps.config.compositeSize.split("x").map(Number);
    this.compositor = new Compositor({
      log: deps.log, width, height, fps: deps.config.compositeFps, niceness: deps.config.compositeNiceness, threads: deps.config.compositeThreads,
    });
  }

  /** Joins (or starts) the call `callId`. Throws `call_full` past callMaxParticipants present. */
  join(callId: string, name: string, link?: ParticipantLink): { call: Call; participant: Participant } {
    let call = this.live.get(callId);
    if (!call) {
      const instance = this.history.filter((c) => c.id === callId).length + 1;
      call = new Call(callId, instance);
      this.live.set(callId, call);
      this.history.unshift(call);
      if (this.history.length > HISTORY) this.history.pop();
      this.watch(call);
    }
    if (call.present.length >= this.deps.config.callMaxParticipants) {
      throw new RecbotError("call_full", `call ${callId} has ${call.present.length} participants, the most it takes`);
    }
    return { call, participant: call.join(name, link) };
  }

  private watch(call: Call): void {
    const log = this.deps.log.child({ callId: call.id, callInstance: call.instance });
    call.on("joined", (p) => log.info({ participantId: p.id }, "participant joined"));
    call.on("left", (p) => log.info({ participantId: p.id, reason: p.leftReason }, "participant left"));
    call.once("ended", () => {
      log.info({ participants: call.participants.size }, "call ended");
      if (this.live.get(call.id) === call) this.live.delete(call.id);
      // A composite asked for during the call may still run: the final one follows it.
      const previous = this.jobs.get(call) ?? Promise.resolve();
      if (this.deps.config.compositeOnEnd && !this.jobs.has(call)) call.setComposite({ state: "waiting" });
      void Promise.all([this.finalized(call), previous.catch(() => {})]).then(() => {
        this.emit("finished", call);
        if (this.deps.config.compositeOnEnd) {
          call.setComposite({ state: "waiting" });
          void this.start(call).catch(() => {});
        }
      });
    });
    call.on("composite", (status) => {
      if (status.state === "finished" || status.state === "failed") this.emit("composite", call);
    });
  }

  /** The live call with this id, else the latest ended one. */
  get(callId: string): Call | undefined {
    return this.live.get(callId) ?? this.history.find((c) => c.id === callId);
  }

  list(): Call[] {
    return [...this.history];
  }

  /** The present participant a WHIP publisher names, or why not; undefined when it names no call. */
  participantFor(callId: string | undefined, participantId: string | undefined):
    | { call: Call; participant: Participant }
    | { status: number; code: string; message: string }
    | undefined {
    if (callId === undefined && participantId === undefined) return undefined;
    if (!callId || !participantId || !new RegExp(CALL_ID_PATTERN).test(callId) || !new RegExp(PARTICIPANT_ID_PATTERN).test(participantId)) {
      return { status: 400, code: "bad_call", message: "callId and participantId go together, as given in the joined message" };
    }
    const call = this.live.get(callId);
    const participant = call?.participants.get(participantId);
    if (!call || !participant || participant.leftAt !== undefined) {
      return { status: 404, code: "unknown_participant", message: `no participant ${participantId} present in call ${callId}` };
    }
    return { call, participant };
  }

  /** A session now publishes this participant's media: its sidecars carry the call, and it ends with the call. */
  attach(call: Call, participant: Participant, session: Session): void {
    participant.sessionIds.push(session.id);
    this.deps.store.tagSession(session.id, { callId: call.id, callInstance: call.instance, participantId: participant.id, participantName: participant.name });
    let set = this.sessions.get(call);
    if (!set) this.sessions.set(call, (set = new Set()));
    set.add(session);
    session.once("closed", () => {
      // Its sidecars keep the tag (the store's index has it); later writes of a closed session find it there.
      this.deps.store.untagSession(session.id);
      set.delete(session);
      if (set.size === 0 && call.ended) this.sessions.delete(call);
    });
  }

  /** Closes the media sessions of a participant who left (WHIP sessions have no socket that would end them). */
  async closeSessionsOf(call: Call, participant: Participant, reason: CloseReason): Promise<void> {
    const open = [...(this.sessions.get(call) ?? [])].filter((s) => participant.sessionIds.includes(s.id));
    await Promise.all(open.map((s) => s.close(reason)));
  }

  /** The call's recordings (every participant's, and the composite). */
  recordingsOf(call: Call): RecordingMetadata[] {
    return this.deps.store.list({ callId: call.id, limit: 10_000 }).items.filter((r) => r.call?.callInstance === call.instance);
  }

  /**
   * Composes the call into one file: after the call ended, once its sessions are closed and their files final; on a
   * live call, what was recorded so far. Throws `composite_busy` while one is waiting or running for the call.
   */
  compose(call: Call): Promise<void> {
    if (["waiting", "queued", "running"].includes(call.composite.state)) {
      throw new RecbotError("composite_busy", `a composite of call ${call.id} is already ${call.composite.state}`);
    }
    call.setComposite({ state: "waiting" });
    return this.start(call);
  }

  private start(call: Call): Promise<void> {
    const job: Promise<void> = this.runComposite(call).finally(() => {
      if (this.jobs.get(call) === job) this.jobs.delete(call);
    });
    this.jobs.set(call, job);
    return job;
  }

  private async runComposite(call: Call): Promise<void> {
    const { store, config, log } = this.deps;
    const endMs = call.endedMs ?? Date.now();
    if (call.ended) await this.finalized(call);
    const id = store.newId();
    const container = config.compositeFormat;
    const meta: RecordingMetadata = {
      id, sessionId: `call:${call.id}`, streamId: "composite", file: store.mediaPath(id, container), container, kind: "composite",
      call: { callId: call.id, callInstance: call.instance }, tracks: [], state: "recording", startedAt: new Date().toISOString(),
      originMs: call.startedMs,
    };
    try {
      const participants = this.layoutParticipants(call);
      if (!participants.some((p) => p.media.length)) throw new RecbotError("no_media", "no participant of the call published any media");
      meta.tracks = [
        { kind: "video", codec: container === "mp4" ? "h264" : "vp9" },
        ...(participants.some((p) => p.media.some((m) => m.hasAudio)) ? [{ kind: "audio" as const, codec: container === "mp4" ? ("aac" as const) : ("opus" as const) }] : []),
      ];
      call.setComposite({ state: "queued" });
      await store.writeMetadata(meta);
      let lastPercent = -1;
      const result = await this.compositor.run({
        key: `${call.id}#${call.instance}`, participants, startMs: call.startedMs, endMs, output: meta.file, format: container,
        onProgress: (percent) => {
          if (percent === lastPercent) return;
          lastPercent = percent;
          call.setComposite({ state: "running", percent });
        },
      });
      Object.assign(meta, { state: "finished", endedAt: new Date().toISOString(), durationMs: Math.round(result.durationS * 1000), sizeBytes: await store.sizeOf(meta.file) });
      await store.writeMetadata(meta);
      const speed = Number(result.speed.toFixed(2));
      const cpuSpeed = Number(result.cpuSpeed.toFixed(2));
      log.info({ callId: call.id, recordingId: id, durationS: result.durationS, speed, cpuSpeed }, "composite finished");
      call.setComposite({ state: "finished", recordingId: id, file: path.basename(meta.file), durationS: result.durationS, speed, cpuSpeed });
    } catch (err) {
      // ffmpeg's reasons name input files: say them relative to the recordings directory.
      const error = errorMessage(err).replaceAll(`${store.dir}${path.sep}`, "");
      log.warn({ callId: call.id, err }, "composite failed");
      if (store.get(id)) await store.writeMetadata({ ...meta, state: "failed", error, endedAt: new Date().toISOString() }).catch(() => {});
      call.setComposite({ state: "failed", error });
      throw err;
    }
  }

  /** Waits for the call's sessions to close and its recordings to leave state "recording" (bounded). */
  private async finalized(call: Call): Promise<void> {
    const open = [...(this.sessions.get(call) ?? [])];
    await Promise.all(open.map((s) => s.close("call_ended")));
    const deadline = Date.now() + FINALIZE_WAIT_MS;
    while (this.recordingsOf(call).some((r) => r.state === "recording" && r.kind !== "composite") && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Each participant's recordings (every segment) as pieces placed on the wall clock. */
  private layoutParticipants(call: Call): LayoutParticipant[] {
    const recordings = this.recordingsOf(call).filter((r) => r.kind !== "composite" && r.originMs !== undefined && r.segments?.length);
    return [...call.participants.values()].map((p) => {
      const media: MediaPiece[] = recordings
        .filter((r) => r.call?.participantId === p.id)
        .flatMap((r) => r.segments!.map((s) => ({
          file: s.file, originMs: r.originMs! + s.startMs,
          hasVideo: r.tracks.some((t) => t.kind === "video"), hasAudio: r.tracks.some((t) => t.kind === "audio"),
        })));
      return { id: p.id, name: p.name, joinedMs: p.joinedMs, leftMs: p.leftMs, media };
    });
  }

  /** Server shutdown: stops composing (a killed composite is marked failed). */
  async close(): Promise<void> {
    await this.compositor.close();
    await Promise.allSettled([...this.jobs.values()]);
  }
}
