import { parseArgs } from "node:util";
import { Value } from "@sinclair/typebox/value";
import { ConfigSchema, type Config } from "./schema.ts";

export class ConfigError extends Error {
  override name = "ConfigError";
}

type Kind = "string" | "int" | "list" | "range" | "bool";
/** option name → [env var, CLI flag, how to parse the text] */
export const options: Record<keyof Config, [string, string, Kind]> = {
  host: ["RECBOT_HOST", "host", "string"],
  port: ["RECBOT_PORT", "port", "int"],
  recordingsDir: ["RECBOT_RECORDINGS_DIR", "recordings-dir", "string"],
  iceServers: ["RECBOT_ICE_SERVERS", "ice-servers", "list"],
  clientIceServers: ["RECBOT_CLIENT_ICE_SERVERS", "client-ice-servers", "list"],
  turnSecret: ["RECBOT_TURN_SECRET", "turn-secret", "string"],
  turnTtlSeconds: ["RECBOT_TURN_TTL_SECONDS", "turn-ttl-seconds", "int"],
  iceAddresses: ["RECBOT_ICE_ADDRESSES", "ice-addresses", "list"],
  announcedAddresses: ["RECBOT_ANNOUNCED_ADDRESSES", "announced-addresses", "list"],
  iceTransportPolicy: ["RECBOT_ICE_TRANSPORT_POLICY", "ice-transport-policy", "string"],
  udpPortRange: ["RECBOT_UDP_PORT_RANGE", "udp-port-range", "range"],
  logLevel: ["RECBOT_LOG_LEVEL", "log-level", "string"],
  maxMessageBytes: ["RECBOT_MAX_MESSAGE_BYTES", "max-message-bytes", "int"],
  authTokens: ["RECBOT_AUTH_TOKENS", "auth-tokens", "list"],
  authSecret: ["RECBOT_AUTH_SECRET", "auth-secret", "string"],
  corsOrigins: ["RECBOT_CORS_ORIGINS", "cors-origins", "list"],
  rateLimitPerMinute: ["RECBOT_RATE_LIMIT_PER_MINUTE", "rate-limit-per-minute", "int"],
  webhookUrl: ["RECBOT_WEBHOOK_URL", "webhook-url", "string"],
  webhookSecret: ["RECBOT_WEBHOOK_SECRET", "webhook-secret", "string"],
  maxSessions: ["RECBOT_MAX_SESSIONS", "max-sessions", "int"],
  wsMessagesPerSecond: ["RECBOT_WS_MESSAGES_PER_SECOND", "ws-messages-per-second", "int"],
  wsMaxBufferedBytes: ["RECBOT_WS_MAX_BUFFERED_BYTES", "ws-max-buffered-bytes", "int"],
  maxMediaSections: ["RECBOT_MAX_MEDIA_SECTIONS", "max-media-sections", "int"],
  maxTracksPerSession: ["RECBOT_MAX_TRACKS_PER_SESSION", "max-tracks-per-session", "int"],
  maxStreamsPerSession: ["RECBOT_MAX_STREAMS_PER_SESSION", "max-streams-per-session", "int"],
  maxStreamsTotal: ["RECBOT_MAX_STREAMS_TOTAL", "max-streams-total", "int"],
  maxRecordingSeconds: ["RECBOT_MAX_RECORDING_SECONDS", "max-recording-seconds", "int"],
  maxRecordingBytes: ["RECBOT_MAX_RECORDING_BYTES", "max-recording-bytes", "int"],
  connectTimeoutSeconds: ["RECBOT_CONNECT_TIMEOUT_SECONDS", "connect-timeout-seconds", "int"],
  peerTimeoutSeconds: ["RECBOT_PEER_TIMEOUT_SECONDS", "peer-timeout-seconds", "int"],
  jitterVideoMs: ["RECBOT_JITTER_VIDEO_MS", "jitter-video-ms", "int"],
  udpReceiveBufferBytes: ["RECBOT_UDP_RECEIVE_BUFFER_BYTES", "udp-receive-buffer-bytes", "int"],
  jitterAudioMs: ["RECBOT_JITTER_AUDIO_MS", "jitter-audio-ms", "int"],
  syncWaitMs: ["RECBOT_SYNC_WAIT_MS", "sync-wait-ms", "int"],
  maxBitrateKbps: ["RECBOT_MAX_BITRATE_KBPS", "max-bitrate-kbps", "int"],
  simulcastLayer: ["RECBOT_SIMULCAST_LAYER", "simulcast-layer", "string"],
  codecs: ["RECBOT_CODECS", "codecs", "list"],
  workers: ["RECBOT_WORKERS", "workers", "int"],
  ffmpegPath: ["RECBOT_FFMPEG_PATH", "ffmpeg-path", "string"],
  callMaxParticipants: ["RECBOT_CALL_MAX_PARTICIPANTS", "call-max-participants", "int"],
  compositeFormat: ["RECBOT_COMPOSITE_FORMAT", "composite-format", "string"],
  compositeOnEnd: ["RECBOT_COMPOSITE_ON_END", "composite-on-end", "bool"],
  compositeSize: ["RECBOT_COMPOSITE_SIZE", "composite-size", "string"],
  compositeFps: ["RECBOT_COMPOSITE_FPS", "composite-fps", "int"],
  compositeNiceness: ["RECBOT_COMPOSITE_NICENESS", "composite-niceness", "int"],
  compositeThreads: ["RECBOT_COMPOSITE_THREADS", "composite-threads", "int"],
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
    case "bool": {
      const t = text.trim().toLowerCase();
      if (!["true", "false", "1", "0"].includes(t)) throw new ConfigError(`${name}: expected true or false, got "${text}"`);
      return t === "true" || t === "1";
    }
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
  if (config.udpPortRange && config.udpPortRange[1] - config.udpPortRange[0] + 1 < config.workers) {
    throw new ConfigError("udpPortRange: each worker needs at least one port of its own");
  }
  if (config.iceTransportPolicy === "relay" && !(config.turnSecret && config.iceServers.some((u) => /^turns?:/.test(u)))) {
    throw new ConfigError("iceTransportPolicy relay needs a turn: or turns: URL in iceServers and a turnSecret");
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
