/**
 * Load generator, run as a child process of the bench (child_process.fork) so its CPU is apart from
 * the server's: `count` publishers, each sending the pre-encoded clip in real time over /ws, started evenly
 * over `rampMs`: libdatachannel peers (test/helpers/ndcPublisher.ts, the default: ~3–4× cheaper per publisher)
 * or werift peers (src/testkit/publisher.ts).
 *
 * IPC in:  { type: "run", url, count, seconds, clip: ClipFiles, rampMs }
 * IPC out: { type: "sending" } once every publisher sends (or failed), { type: "sent" } when the first
 *          one has sent all its media, then { type: "done", publishers: PublisherResult[], lag }.
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { readClip, type ClipFiles } from "../src/testkit/clip.ts";
import { publish } from "../src/testkit/publisher.ts";
import { ndcCleanup, publishNdc } from "../test/helpers/ndcPublisher.ts";

export interface RunCommand {
  type: "run";
  url: string;
  count: number;
  seconds: number;
  clip: ClipFiles;
  rampMs: number;
  /** recbot's recordings directory (files are named relative to it; the keyframe-on-disk time is read there). */
  recordingsDir?: string;
  publisher: "ndc" | "werift";
}

export interface PublisherResult {
  ok: boolean;
  error?: string;
  offerToAnswerMs?: number;
  offerToKeyframeOnDiskMs?: number;
  byeToFinishedMs?: number;
  framesSent?: { video: number; audio: number; keyframesOnRequest: number; maxLateMs: number };
  secondsSent?: number;
  file?: string;
  state?: string;
  /** Peer connections tried before one connected (ndc publishers retry, see ndcPublisher.ts). */
  connectAttempts?: number;
}

export interface LoadgenDone {
  type: "done";
  publishers: PublisherResult[];
  /** The generator's own event-loop delay: if it is high, pacing (not the server) is to blame. */
  lag: { p99Ms: number; maxMs: number };
}

const send = (m: object) => process.send!(m);

async function run(cmd: RunCommand): Promise<void> {
  const clip = readClip(cmd.clip);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let sending = 0;
  let sentOnce = false;
  const accountStart = () => {
    if (++sending === cmd.count) send({ type: "sending" });
  };
  const accountEnd = () => {
    if (!sentOnce) send({ type: "sent" });
    sentOnce = true;
  };
  const one = async (i: number): Promise<PublisherResult> => {
    await new Promise((r) => setTimeout(r, (cmd.rampMs * i) / cmd.count));
    let started = false;
    try {
      const publishOptions = {
        url: cmd.url, clip, seconds: cmd.seconds, recordingsDir: cmd.recordingsDir,
        onSending: () => ((started = true), accountStart()),
        onSent: accountEnd,
      };
      const r = cmd.publisher === "ndc" ? await publishNdc(publishOptions) : { ...(await publish(publishOptions)), connectAttempts: 1 };
      return {
        ok: r.finished.state === "finished",
        error: r.finished.error,
        offerToAnswerMs: r.offerToAnswerMs,
        offerToKeyframeOnDiskMs: r.offerToKeyframeOnDiskMs,
        byeToFinishedMs: r.byeToFinishedMs,
        framesSent: r.framesSent,
        secondsSent: r.secondsSent,
        file: r.finished.file,
        state: r.finished.state,
        connectAttempts: r.connectAttempts,
      };
    } catch (err) {
      if (!started) accountStart();
      accountEnd();
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  };
  const publishers = await Promise.all(Array.from({ length: cmd.count }, (_, i) => one(i)));
  lag.disable();
  if (cmd.publisher === "ndc") ndcCleanup();
  const done: LoadgenDone = { type: "done", publishers, lag: { p99Ms: lag.percentile(99) / 1e6, maxMs: lag.max / 1e6 } };
  send(done);
}

// Without the bench there is nobody to report to: stop (also ends an orphan if the bench was killed).
process.on("disconnect", () => process.exit(0));

process.once("message", (m: RunCommand) => {
  // After "done" the process stays (the IPC channel keeps it) until the bench has read its CPU time and ends it.
  run(m).catch(
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
});
