import { parseArgs } from "node:util";
import { Value } from "@sinclair/typebox/value";
import { ConfigSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Kind = "string" | "int" | "list" | "range";
/** option name → [env var, CLI flag, how to parse the text] */
export const options: Record<keyof Config, [string, string, Kind]> = {
  host: ["RECBOT_HOST", "host", "string"],
  port: ["RECBOT_PORT", "port", "int"],
  recordingsDir: ["RECBOT_RECORDINGS_DIR", "recordings-dir", "string"],
  iceServers: ["RECBOT_ICE_SERVERS", "ice-servers", "list"],
  turnSecret: ["RECBOT_TURN_SECRET", "turn-secret", "string"],
  turnTtlSeconds: ["RECBOT_TURN_TTL_SECONDS", "turn-ttl-seconds", "int"],
  iceAddresses: ["RECBOT_ICE_ADDRESSES", "ice-addresses", "list"],
  udpPortRange: ["RECBOT_UDP_PORT_RANGE", "udp-port-range", "range"],
  logLevel: ["RECBOT_LOG_LEVEL", "log-level", "string"],
  maxMessageBytes: ["RECBOT_MAX_MESSAGE_BYTES", "max-message-bytes", "int"],
  jitterVideoMs: ["RECBOT_JITTER_VIDEO_MS", "jitter-video-ms", "int"],
  jitterAudioMs: ["RECBOT_JITTER_AUDIO_MS", "jitter-audio-ms", "int"],
  authTokens: ["RECBOT_AUTH_TOKENS", "auth-tokens", "list"],
  whipConnectTimeoutMs: ["RECBOT_WHIP_CONNECT_TIMEOUT_MS", "whip-connect-timeout-ms", "int"],
};

function parseText(name: string, kind: Kind, text: string): unknown {
  switch (kind) {
    case "string":
      return text;
    case "int": {
      if (!/^-?\d+$/.test(text.trim())) throw new ConfigError(`${name}: expected an integer, got "${text}"`);
      return Number(text);
    }
    case "list":
      return text.split(",").map((s) => s.trim()).filter(Boolean);
    case "range": {
      const m = /^(\d+)-(\d+)$/.exec(text.trim());
      if (!m) throw new ConfigError(`${name}: expected min-max, got "${text}"`);
      return [Number(m[1]), Number(m[2])];
    }
  }
}

/** Validates a partial config object, fills defaults and freezes it. Throws ConfigError listing every problem. */
export function resolveConfig(input: Partial<Record<keyof Config, unknown>> = {}): Config {
  const candidate = Value.Default(ConfigSchema, structuredClone(input)) as Record<string, unknown>;
  const errors = [...Value.Errors(ConfigSchema, candidate)].map((e) => `${e.path || "/"}: ${e.message}`);
  if (errors.length) throw new ConfigError(`invalid config: ${errors.join("; ")}`);
  const config = candidate as Config;
  if (config.udpPortRange && config.udpPortRange[0] >= config.udpPortRange[1]) {
    throw new ConfigError("udpPortRange: min must be below max");
  }
  return Object.freeze(config);
}

/** The only reader of process.env: CLI flags win over env vars, which win over defaults. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: string[] = []): Config {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: Object.fromEntries(Object.values(options).map(([, flag]) => [flag, { type: "string" as const }])),
  });
  const input: Record<string, unknown> = {};
  for (const [key, [envName, flag, kind]] of Object.entries(options)) {
    const text = (values as Record<string, string | undefined>)[flag] ?? env[envName];
    if (text !== undefined && text !== "") input[key] = parseText(key, kind, text);
  }
  return resolveConfig(input);
}
