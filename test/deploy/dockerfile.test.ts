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

// What can be checked without building the image; test/deploy/stack.test.ts (npm run test:deploy) builds and runs it.
describe("Dockerfile", () => {
  it("starts from Debian's own base image in every stage (pullable, or made by scripts/debian-base-image.sh)", () => {
    const froms = one("FROM").map((f) => f.args.split(/\s+/)[0]);
    expect(froms.length).toBeGreaterThan(0);
    expect(new Set(froms)).toEqual(new Set(["debian:bookworm-slim"]));
    const coturn = readFileSync(path.join(root, "deploy/coturn.Dockerfile"), "utf8");
    expect(/^FROM\s+(\S+)/m.exec(coturn)![1]).toBe("debian:bookworm-slim");
    expect(coturn).toMatch(/^COPY deploy\/turnserver\.conf \/etc\/coturn\/turnserver\.conf$/m);
  });

  it("brings Node the way a bare machine does (npm ci of the \"node\" dependency) and runs Debian's ffmpeg", () => {
    const runs = one("RUN").map((r) => r.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r) && !/--ignore-scripts/.test(r))).toBe(true); // the "node" package's install script fetches Node
    expect(runs.some((r) => /apt-get install .*\bffmpeg\b/.test(r))).toBe(true);
    // The final stage runs node_modules/.bin/node, not Debian's nodejs (bookworm: Node 18).
    const final = instructions.slice(instructions.findLastIndex((i) => i.op === "FROM"));
    expect(final.some((i) => i.op === "RUN" && /\bnodejs\b/.test(i.args))).toBe(false);
    expect(final.some((i) => i.op === "ENV" && /PATH=\/app\/node_modules\/\.bin:/.test(i.args))).toBe(true);
    expect(final.some((i) => i.op === "COPY" && /--from=\w+ \/app\/node_modules/.test(i.args))).toBe(true);
    // The recorders' lean ffmpeg, built in its own stage by the script a bare machine runs (docs/recorder-ffmpeg.md).
    expect(runs.some((r) => /\bsh scripts\/build-ffmpeg\.sh\b/.test(r))).toBe(true);
    expect(final.some((i) => i.op === "COPY" && /--from=ffmpeg \S+\/\.ffmpeg \.\/\.ffmpeg/.test(i.args))).toBe(true);
  });

  it("copies only files that exist and runs `recbot serve` from the sources", () => {
    for (const copy of one("COPY").filter((c) => !c.args.startsWith("--from"))) {
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
