#!/usr/bin/env node
// recbot's command line: `recbot [serve|token|loopback] [options]`. Run by Node >= 22.18 (type stripping);
// bin/recbot.js starts it from any Node (see docs/cli.md).
import { ConfigError } from "../config/loadConfig.ts";
import { wantsHelp } from "./args.ts";
import { loopbackCommand, loopbackUsage } from "./loopback.ts";
import { serve, token } from "./serve.ts";
import { mainUsage, serveUsage, tokenUsage, UsageError, version } from "./usage.ts";

const commands: Record<string, { usage: () => string; run: (args: string[]) => Promise<number | void> | number | void }> = {
  serve: { usage: serveUsage, run: serve },
  token: { usage: () => tokenUsage, run: token },
  loopback: { usage: () => loopbackUsage, run: loopbackCommand },
};

/** Runs one command line; resolves to an exit status, or to undefined while a server keeps running. */
async function main(args: string[]): Promise<number | undefined> {
  if (args[0] === "--version" || args[0] === "-V") return void console.log(version()), 0;
  if (args[0] === "help" || args[0] === "--help" || args[0] === "-h") {
    const topic = args[0] === "help" ? commands[args[1] ?? ""] : undefined;
    console.log(topic ? topic.usage() : mainUsage);
    return 0;
  }
  // `recbot --port 9000` means `recbot serve --port 9000`.
  const [name, ...rest] = args.length === 0 || args[0].startsWith("-") ? ["serve", ...args] : args;
  const command = commands[name];
  if (!command) throw new UsageError(`recbot: unknown command ${name}`, mainUsage);
  if (wantsHelp(rest)) return void console.log(command.usage()), 0;
  const status = await command.run(rest);
  return status ?? (name === "serve" ? undefined : 0);
}

main(process.argv.slice(2)).then(
  (status) => {
    // werift leaves timers and sockets behind after close(); a one-shot command exits explicitly, once its output is out.
    if (status !== undefined) process.stdout.write("", () => process.exit(status));
  },
  (err) => {
    if (err instanceof UsageError) console.error(`${err.message}\n\n${err.usage}`);
    else console.error(err instanceof ConfigError ? err.message : err);
    process.exit(err instanceof UsageError || err instanceof ConfigError ? 2 : 1);
  },
);
