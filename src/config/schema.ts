import { Type, type Static } from "@sinclair/typebox";

/**
 * The one config schema. Every option has a default (beside it), an env name and a CLI flag
 * (see `options` in loadConfig.ts and the README's table).
 */
export const ConfigSchema = Type.Object(
  {
    host: Type.String({ default: "0.0.0.0", description: "HTTP/WebSocket listen address" }),
    port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: "HTTP/WebSocket listen port" }),
    recordingsDir: Type.String({ minLength: 1, default: "./recordings", description: "where recordings are written" }),
    iceServers: Type.Array(Type.String({ pattern: "^(stun|turn|turns):" }), {
      default: [],
      description: "STUN/TURN URLs recbot's own peer uses (comma-separated in env/CLI)",
    }),
    turnSecret: Type.Optional(Type.String({ minLength: 1, description: "TURN REST API shared secret (coturn use-auth-secret)" })),
    turnTtlSeconds: Type.Integer({ minimum: 60, default: 86400, description: "lifetime of ephemeral TURN credentials" }),
    iceAddresses: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description: "local addresses ICE may use for host candidates (empty = all interfaces)",
    }),
    udpPortRange: Type.Optional(
      Type.Tuple([Type.Integer({ minimum: 1, maximum: 65535 }), Type.Integer({ minimum: 1, maximum: 65535 })], {
        description: "UDP port range for ICE, as min-max",
      }),
    ),
    logLevel: Type.Union(
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"].map((l) => Type.Literal(l)),
      { default: "info", description: "log level" },
    ),
    maxMessageBytes: Type.Integer({ minimum: 1024, default: 262144, description: "largest signaling message accepted" }),
    jitterVideoMs: Type.Integer({ minimum: 0, maximum: 5000, default: 400, description: "video reorder/NACK wait" }),
    authTokens: Type.Array(Type.String({ minLength: 8 }), {
      default: [],
      description: "bearer tokens accepted on WHIP endpoints (empty = no auth; comma-separated in env/CLI)",
    }),
    whipConnectTimeoutMs: Type.Integer({
      minimum: 1000, default: 30000,
      description: "a WHIP session whose peer has not connected by then is closed (no socket tells recbot it left)",
    }),
    jitterAudioMs: Type.Integer({ minimum: 0, maximum: 5000, default: 100, description: "audio reorder wait" }),
  },
  { additionalProperties: false },
);

export type Config = Readonly<Static<typeof ConfigSchema>>;
