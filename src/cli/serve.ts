import { recorderFfmpeg } from "../sinks/ffmpegRecorder/binary.ts";
import { loadConfig, options as configOptions } from "../config/loadConfig.ts";
import { ConfigError } from "../config/loadConfig.ts";
import { createRecbot } from "../index.ts";
import { signToken } from "../signaling/auth.ts";
import { slowSrtpRuntime, tuneGc } from "../util/nodeRuntime.ts";
import { parseFlags } from "./args.ts";
import { serveUsage, tokenUsage } from "./usage.ts";

/** Every config option as a parseArgs string flag. */
const configFlags = () => Object.fromEntries(Object.values(configOptions).map(([, flag]) => [flag, { type: "string" as const }]));

/** `recbot serve [options]`: runs until SIGTERM/SIGINT, then finalizes every recording. */
export async function serve(argv: string[]): Promise<void> {
  parseFlags("serve", serveUsage(), argv, configFlags());
  const config = loadConfig(process.env, argv);
  const gcTuned = tuneGc();
  const recbot = await createRecbot(config);
  const url = await recbot.listen();
  const ffmpeg = recorderFfmpeg(config.ffmpegPath);
  recbot.app.log.info({ url, recordingsDir: config.recordingsDir, node: process.version, recorderFfmpeg: ffmpeg.path, recorderFfmpegKind: ffmpeg.kind, gcTuned }, "recbot listening");
  if (ffmpeg.kind === "system") recbot.app.log.info("recorders run the system ffmpeg; `npm run build:ffmpeg` builds a lean one that costs less per stream (docs/recorder-ffmpeg.md)");
  const slow = slowSrtpRuntime();
  if (slow) recbot.app.log.warn(slow);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    recbot.app.log.info({ signal }, "finalizing recordings and stopping");
    recbot.close().then(
      () => process.exit(0),
      (err) => {
        recbot.app.log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** `recbot token --ttl SECONDS`: prints a signed bearer token (needs RECBOT_AUTH_SECRET / --auth-secret). */
export function token(argv: string[], out: NodeJS.WritableStream = process.stdout): void {
  const { values } = parseFlags("token", tokenUsage, argv, { ttl: { type: "string" }, ...configFlags() });
  const { ttl: ttlText = "3600", ...config } = values as Record<string, string>;
  const ttl = Number(ttlText);
  if (!Number.isInteger(ttl) || ttl <= 0) throw new ConfigError("--ttl must be a positive number of seconds");
  const { authSecret } = loadConfig(process.env, Object.entries(config).flatMap(([flag, value]) => [`--${flag}`, value]));
  if (!authSecret) throw new ConfigError("recbot token needs --auth-secret or RECBOT_AUTH_SECRET");
  out.write(`${signToken(authSecret, Math.floor(Date.now() / 1000) + ttl)}\n`);
}
