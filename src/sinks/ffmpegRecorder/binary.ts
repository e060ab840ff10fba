import { accessSync, constants } from "node:fs";
import type ffmpeg from "fluent-ffmpeg";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Where `npm run build:ffmpeg` (scripts/build-ffmpeg.sh) puts recbot's lean recorder ffmpeg. */
export const LEAN_FFMPEG = fileURLToPath(new URL("../../../.ffmpeg/bin/ffmpeg", import.meta.url));

export interface RecorderFfmpeg {
  path: string;
  /** lean = recbot's own build (docs/recorder-ffmpeg.md); configured = `ffmpegPath`; system = `ffmpeg` on PATH. */
  kind: "lean" | "configured" | "system";
}

/**
 * The ffmpeg each recorder runs. `auto` prefers the lean build: Debian's ffmpeg links ~200 libraries, and binding
 * their symbols costs ~65 ms of CPU per process start and ~10 MB of private memory per process, for a job (copy
 * Matroska into a file) that needs none of them.
 */
export function recorderFfmpeg(setting: string, exists: (path: string) => boolean = isExecutable): RecorderFfmpeg {
  if (setting !== "auto") return { path: setting, kind: "configured" };
  return exists(LEAN_FFMPEG) ? { path: LEAN_FFMPEG, kind: "lean" } : { path: "ffmpeg", kind: "system" };
}

const executable = new Map<string, boolean>();

/** Checked once per process: the build is made before recbot starts, not while it runs. */
function isExecutable(path: string): boolean {
  const known = executable.get(path);
  if (known !== undefined) return known;
  try {
    accessSync(path, constants.X_OK);
    executable.set(path, true);
  } catch {
    executable.set(path, false);
  }
  return executable.get(path)!;
}

/**
 * Why `ffmpeg` (a path, or a name looked up on PATH) cannot be run, or undefined when it can. Checked before each
 * spawn because fluent-ffmpeg 2.1 throws from inside its spawn-error handler (an uncaught TypeError that would take the
 * whole server down) when the binary is missing.
 */
export function unrunnable(ffmpeg: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (ffmpeg.includes("/")) return isExecutable(ffmpeg) ? undefined : `ffmpeg not found or not executable: ${ffmpeg}`;
  const dirs = (env.PATH ?? "").split(path.delimiter).filter(Boolean);
  return dirs.some((d) => isExecutable(path.join(d, ffmpeg))) ? undefined : `${ffmpeg} not found on PATH (${dirs.join(":")})`;
}

/**
 * Makes this one fluent-ffmpeg command run `binary`. fluent-ffmpeg's own `setFfmpegPath` is process-wide (one cached
 * path and one cached list of formats for every command), so the recorder's lean ffmpeg would also become the call
 * composite's, which needs encoders and the mp4 muxer ("Output format mp4 is not available"). Its capability check is
 * skipped too: it would run `<binary> -formats` and cache that list for every command; the recorder's formats are
 * fixed (args.ts) and its binary is checked before each spawn (unrunnable).
 */
export function useBinary(command: ffmpeg.FfmpegCommand, binary: string): void {
  const internals = command as unknown as {
    _getFfmpegPath(cb: (err: Error | null, path: string) => void): void;
    _checkCapabilities(cb: (err?: Error) => void): void;
  };
  internals._getFfmpegPath = (cb) => cb(null, binary);
  internals._checkCapabilities = (cb) => cb();
}
