import { execFile, execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startRecbotProcess } from "../helpers/recbotProcess.ts";

const ROOT = path.join(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "bin/recbot.js");
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { version: string }).version;

/** Runs the `recbot` bin (package.json "bin") as a child process. */
function recbot(args: string[], node = process.execPath): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(node, [BIN, ...args], { cwd: ROOT, timeout: 30_000, env: { PATH: process.env.PATH ?? "" } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stdout, stderr }));
  });
}

describe("the recbot command line", () => {
  it.each([
    { args: ["--help"], first: "usage: recbot [command] [options]" },
    { args: ["-h"], first: "usage: recbot [command] [options]" },
    { args: ["help", "token"], first: "usage: recbot token" },
    { args: ["serve", "--help"], first: "usage: recbot serve [options]" },
    { args: ["--port", "9000", "--help"], first: "usage: recbot serve [options]" },
    { args: ["token", "--help"], first: "usage: recbot token" },
    { args: ["loopback", "--help"], first: "usage: recbot loopback" },
  ])("recbot $args prints usage and exits 0", async ({ args, first }) => {
    const r = await recbot(args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toContain(first);
    expect(r.stderr).toBe("");
  });

  it("lists every config flag of the schema, with its env var, in `serve --help`", async () => {
    const { options } = await import("../../src/config/loadConfig.ts");
    const r = await recbot(["serve", "--help"]);
    for (const [env, flag] of Object.values(options)) {
      expect(r.stdout).toContain(`--${flag} <value>`);
      expect(r.stdout).toContain(`env ${env}`);
    }
  });

  it("prints the version from package.json", async () => {
    const r = await recbot(["--version"]);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });

  it.each([
    { args: ["--bogus"], line: "recbot serve: unknown option --bogus", usage: "usage: recbot serve" },
    { args: ["serve", "--port"], line: "recbot serve: option --port needs a value", usage: "usage: recbot serve" },
    { args: ["token", "--frob", "1"], line: "recbot token: unknown option --frob", usage: "usage: recbot token" },
    { args: ["loopback", "--nope"], line: "recbot loopback: unknown option --nope", usage: "usage: recbot loopback" },
    { args: ["dance"], line: "recbot: unknown command dance", usage: "usage: recbot [command]" },
  ])("recbot $args names the mistake in one line, prints the usage and exits 2", async ({ args, line, usage }) => {
    const r = await recbot(args);
    expect(r.code).toBe(2);
    const lines = r.stderr.split("\n");
    expect(lines[0]).toBe(line);
    expect(lines[2]).toContain(usage);
    expect(r.stderr).not.toMatch(/TypeError|\n\s+at /); // no stack trace
  });

  it("reports a bad config value (exit 2) without a stack trace", async () => {
    const r = await recbot(["--port", "http"]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('port: expected an integer, got "http"');
  });

  it("mints a token", async () => {
    const r = await recbot(["token", "--ttl", "60", "--auth-secret", "0123456789abcdef0123"]);
    expect(r.code, r.stderr).toBe(0);
    const [expiry] = r.stdout.trim().split(".");
    expect(Number(expiry) - Date.now() / 1000).toBeGreaterThan(50);
  });

  // Debian's own Node (18 or 20) is what `#!/usr/bin/env node` finds after `npm link`: the bin must still work there.
  const systemNode = "/usr/bin/node";
  const systemVersion = existsSync(systemNode) ? execFileSync(systemNode, ["--version"], { encoding: "utf8" }).trim() : "";
  const [major, minor] = systemVersion.slice(1).split(".").map(Number);
  const old = systemVersion && (major < 22 || (major === 22 && minor < 18)) ? systemNode : undefined;
  it.runIf(old)("starts from a Node too old for type stripping, through recbot's own Node", async () => {
    const r = await recbot(["--version"], old);
    expect(r).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
  });
});

describe("recbot serve and V8's GC (docs/gc.md)", () => {
  it("sets the incremental-marking triggers at start-up, and RECBOT_GC_TUNING=0 leaves V8's default", async () => {
    for (const [tuning, expected] of [[undefined, true], ["0", false]] as const) {
      const env: Record<string, string> = { RECBOT_HOST: "127.0.0.1", RECBOT_PORT: "0", RECBOT_RECORDINGS_DIR: mkdtempSync(path.join(tmpdir(), "recbot-gc-")), RECBOT_ICE_ADDRESSES: "127.0.0.1" };
      if (tuning !== undefined) env.RECBOT_GC_TUNING = tuning;
      const server = await startRecbotProcess(env);
      try {
        expect(server.logs.find((l) => l.msg === "recbot listening")?.gcTuned).toBe(expected);
      } finally {
        expect(await server.stop()).toBe(0);
      }
    }
  });
});
