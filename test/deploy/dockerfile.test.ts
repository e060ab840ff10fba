import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { createRecbot } from "../../src/index.ts";

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, "../..");
const dockerfile = readFileSync(path.join(root, "Dockerfile"), "utf8");
/** Instructions with their continuation lines joined, comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith("#"))
  .map((l) => {
    const [op, ...rest] = l.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(" ") };
  });
const one = (op: string) => instructions.filter((i) => i.op === op);

// There is no Docker engine here: these check what can be checked without building the image.
describe("Dockerfile", () => {
  it("builds on Node >= 22 slim with Debian's ffmpeg", () => {
    const from = one("FROM")[0].args;
    expect(from).toMatch(/^node:(\d+)[\w.-]*-slim$/);
    const major = Number(/^node:(\d+)/.exec(from)![1]);
    expect(major).toBeGreaterThanOrEqual(22);
    // The image runs the Node line that npm start and the tests run (the "node" dependency), not another one.
    const pinned = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")).dependencies.node as string;
    expect(Number(/^\^?(\d+)\./.exec(pinned)![1])).toBe(major);
    expect(one("RUN").some((r) => /apt-get install .*\bffmpeg\b/.test(r.args))).toBe(true);
  });

  it("copies only files that exist and runs `recbot serve` from the sources", () => {
    for (const copy of one("COPY")) {
      const sources = copy.args.split(/\s+/).slice(0, -1);
      for (const s of sources) expect(existsSync(path.join(root, s)), s).toBe(true);
    }
    const cmd = JSON.parse(one("CMD")[0].args) as string[];
    expect(cmd).toEqual(["node", "src/cli/main.ts", "serve"]);
    expect(existsSync(path.join(root, cmd[1]))).toBe(true);
  });

  it("runs as a non-root user, set after the root-only steps", () => {
    const userIndex = instructions.findIndex((i) => i.op === "USER");
    expect(userIndex).toBeGreaterThan(-1);
    expect(instructions[userIndex].args).not.toMatch(/^(root|0)(:|$)/);
    expect(instructions.slice(userIndex + 1).some((i) => i.op === "RUN" && /apt-get|chown/.test(i.args))).toBe(false);
  });

  it("has a HEALTHCHECK whose command passes against a live recbot and fails when it is down", async () => {
    const check = one("HEALTHCHECK")[0].args;
    const command = /CMD (.*)$/.exec(check)![1];
    expect(command).toContain("/healthz");
    const recbot = await createRecbot({ host: "127.0.0.1", port: 0, logLevel: "silent", recordingsDir: mkdtempSync(path.join(tmpdir(), "recbot-hc-")) });
    const port = new URL(await recbot.listen()).port;
    const env = { PATH: process.env.PATH, RECBOT_PORT: port };
    try {
      await expect(run("sh", ["-c", command], { env })).resolves.toBeDefined();
    } finally {
      await recbot.close();
    }
    await expect(run("sh", ["-c", command], { env })).rejects.toMatchObject({ code: 1 });
  });
});
