#!/usr/bin/env node
import { loadConfig, ConfigError } from "../config/loadConfig.ts";
import { createRecbot } from "../index.ts";
import { signToken } from "../signaling/auth.ts";
import { slowSrtpRuntime } from "../util/nodeRuntime.ts";
import { loopbackCommand, loopbackUsage } from "./loopback.ts";

const usage = `usage: recbot serve [--host H] [--port P] [--recordings-dir DIR] [--ice-servers URLS] ...
       recbot token [--ttl SECONDS] --auth-secret SECRET
(every option also has an env var; see README)
${loopbackUsage}`;

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  const recbot = await createRecbot(config);
  const url = await recbot.listen();
  recbot.app.log.info({ url, recordingsDir: config.recordingsDir, node: process.version }, "recbot listening");
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
function token(argv: string[]): void {
  const ttlIndex = argv.indexOf("--ttl");
  const ttl = ttlIndex >= 0 ? Number(argv.splice(ttlIndex, 2)[1]) : 3600;
  const config = loadConfig(process.env, argv);
  if (!config.authSecret) throw new ConfigError("recbot token needs --auth-secret or RECBOT_AUTH_SECRET");
  if (!Number.isInteger(ttl) || ttl <= 0) throw new ConfigError("--ttl must be a positive number of seconds");
  console.log(signToken(config.authSecret, Math.floor(Date.now() / 1000) + ttl));
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  // `recbot --port 9000` means `recbot serve --port 9000`.
  const [command = "serve", ...rest] = args[0]?.startsWith("-") ? ["serve", ...args] : args;
  switch (command) {
    case "serve":
      return serve(rest);
    case "token":
      return token(rest);
    case "loopback": {
      const status = await loopbackCommand(rest);
      // werift leaves timers and sockets behind after close(); a one-shot command exits explicitly.
      process.stdout.write("", () => process.exit(status));
      return;
    }
    case "help":
    case "--help":
      console.log(usage);
      return;
    default:
      console.error(`unknown command "${command}"\n${usage}`);
      process.exitCode = 2;
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
