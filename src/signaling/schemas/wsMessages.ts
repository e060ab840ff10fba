import { Type, type Static } from "@sinclair/typebox";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { CallMessages, type CallServerMessage } from "./callMessages.ts";

const CandidateInit = Type.Object({
  candidate: Type.String({ maxLength: 1024 }),
  sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 255 }), Type.Null()])),
  usernameFragment: Type.Optional(Type.Union([Type.String({ maxLength: 256 }), Type.Null()])),
});

export const ClientMessages = {
  offer: Type.Object({
    type: Type.Literal("offer"),
    sdp: Type.String({ minLength: 1 }),
    /** "echo": recbot also sends each received track back (the offer's m-lines must be sendrecv). */
    mode: Type.Optional(Type.Union([Type.Literal("record"), Type.Literal("echo")])),
  }),
  /** recbot as the caller: it sends an offer with recvonly transceivers (one audio, one video by default). */
  call: Type.Object({
    type: Type.Literal("call"),
    audio: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
    video: Type.Optional(Type.Integer({ minimum: 0, maximum: 4 })),
    /** Codecs the client wants, in preference order (recbot offers the first one it records, per kind). */
    codecs: Type.Optional(Type.Array(Type.String({ pattern: "^(vp8|vp9|h264|av1|opus|pcmu|pcma)$" }), { maxItems: 7 })),
  }),
  /** The client's answer to recbot's offer. */
  answer: Type.Object({
    type: Type.Literal("answer"),
    sdp: Type.String({ minLength: 1 }),
  }),
  candidate: Type.Object({
    type: Type.Literal("candidate"),
    candidate: Type.Union([CandidateInit, Type.Null()]),
  }),
  bye: Type.Object({ type: Type.Literal("bye") }),
  ...CallMessages,
};

export type ClientMessageType = keyof typeof ClientMessages;
export type ClientMessage = { [K in ClientMessageType]: Static<(typeof ClientMessages)[K]> }[ClientMessageType];

const checkers = Object.fromEntries(
  Object.entries(ClientMessages).map(([type, schema]) => [type, TypeCompiler.Compile(schema)]),
) as unknown as { [K in ClientMessageType]: ReturnType<typeof TypeCompiler.Compile> };

export type ParseResult = { ok: true; message: ClientMessage } | { ok: false; code: string; message: string };

/** Parses one WebSocket text message into a typed client message, or says precisely what is wrong. */
export function parseClientMessage(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: "bad_json", message: `message is not valid JSON: ${(err as Error).message}` };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return { ok: false, code: "bad_message", message: "message must be a JSON object" };
  }
  const type = (value as { type?: unknown }).type;
  if (typeof type !== "string") return { ok: false, code: "bad_message", message: 'message needs a string "type"' };
  if (!Object.hasOwn(checkers, type)) {
    return { ok: false, code: "unknown_type", message: `unknown message type "${type.slice(0, 64)}"` };
  }
  const checker = checkers[type as ClientMessageType];
  if (!checker.Check(value)) {
    const first = checker.Errors(value).First();
    const where = first?.path || "/";
    return { ok: false, code: "bad_message", message: `invalid "${type}" message at ${where}: ${first?.message ?? "does not match"}` };
  }
  return { ok: true, message: value as ClientMessage };
}

/** Server → client messages. */
export type ServerMessage =
  | { type: "ice-servers"; iceServers: { urls: string | string[]; username?: string; credential?: string }[] }
  | { type: "answer"; sdp: string; sessionId: string }
  | { type: "offer"; sdp: string; sessionId: string }
  | { type: "candidate"; candidate: object | null }
  | { type: "recording"; recordingId: string; state: "started" | "finished" | "failed"; file: string; streamId: string; error?: string }
  | { type: "error"; code: string; message: string }
  | CallServerMessage;
