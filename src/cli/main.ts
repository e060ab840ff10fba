#!/usr/bin/env node
import { loadConfig, ConfigError } from "../config/loadConfig.ts";
import { createRecbot } from "../index.ts";
import { loopbackCommand, loopbackUsage } from "./loopback.ts";

const usage = `usage: recbot serve [--host H] [--port P] [--recordings-dir DIR] [--ice-servers URLS] ...
(every option also has an env var; see README)
${loopbackUsage}`;

async function serve(argv: string[]): Promise<void> {
  const config = loadConfig(process.env, argv);
  const recbot = await createRecbot(config);
  const url = await recbot.listen();
  recbot.app.log.info({ url, recordingsDir: config.recordingsDir }, "recbot listening");
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

async function main(): Promise<void> {
  const [command = "serve", ...rest] = process.argv.slice(2);
  switch (command) {
    case "serve":
      return serve(rest);
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
