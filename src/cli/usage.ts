import { readFileSync } from "node:fs";
import { options as configOptions } from "../config/loadConfig.ts";
import { ConfigSchema } from "../config/schema.ts";

/** A command line recbot cannot run: printed as one line plus the command's usage, exit status 2. */
export class UsageError extends Error {
  override name = "UsageError";
  readonly usage: string;
  constructor(message: string, usage: string) {
    super(message);
    this.usage = usage;
  }
}

/** The version in package.json. */
export function version(): string {
  return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
}

/** One line per config option, from the schema: flag, env var, default, description. */
function configFlags(): string {
  const properties = ConfigSchema.properties as Record<string, { description?: string; default?: unknown }>;
  return Object.entries(configOptions)
    .map(([key, [env, flag]]) => {
      const p = properties[key];
      const fallback = p.default === undefined ? "" : ` (default ${Array.isArray(p.default) ? p.default.join(",") || "none" : String(p.default)})`;
      return `  --${flag} <value>\n      ${p.description ?? key}${fallback}; env ${env}`;
    })
    .join("\n");
}

export const mainUsage = `usage: recbot [command] [options]

commands:
  serve      start the server (the default: \`recbot --port 9000\` means \`recbot serve --port 9000\`)
  token      print a signed, expiring bearer token
  loopback   publish a test signal to a recbot in echo mode and check what comes back and what it recorded

  recbot <command> --help    the command's options
  recbot --version           the version`;

export function serveUsage(): string {
  return `usage: recbot serve [options]
Starts recbot (HTTP, /ws, WHIP) and finalizes every recording on SIGTERM/SIGINT. Each option can also be set
through its env var; a flag wins over the env var.

options:
${configFlags()}`;
}

export const tokenUsage = `usage: recbot token [--ttl SECONDS] [--auth-secret SECRET]
Prints a signed bearer token valid for --ttl seconds (default 3600), made with the auth secret
(--auth-secret or RECBOT_AUTH_SECRET, the same secret the server is started with).`;
