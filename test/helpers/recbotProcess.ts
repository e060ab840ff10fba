import { spawn } from "node:child_process";
import path from "node:path";
import type { SelectedPair } from "../../src/session/selectedPair.ts";

const MAIN = path.resolve(import.meta.dirname, "../../src/cli/main.ts");

export interface RecbotProcess {
  /** Parsed pino log lines so far. */
  logs: any[];
  /** The base URL recbot logged when it started listening (http://host:port). */
  url: string;
  /** The process id (of `ip netns exec` when run in a namespace). */
  pid: number;
  /** What recbot wrote to stderr so far. */
  stderr(): string;
  /** Selected pairs recbot logged when sessions connected, by session id. */
  pairs(): Map<string, SelectedPair>;
  stop(): Promise<number | null>;
}

/** `recbot serve` as a child process (in a network namespace if given), configured only through env vars. */
export async function startRecbotProcess(env: Record<string, string>, netns?: string): Promise<RecbotProcess> {
  const argv = [process.execPath, MAIN, "serve"];
  const [cmd, args] = netns ? ["ip", ["netns", "exec", netns, ...argv]] : [argv[0], argv.slice(1)];
  const child = spawn(cmd, args, { env: { PATH: process.env.PATH ?? "", RECBOT_LOG_LEVEL: "info", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const logs: any[] = [];
  let stderr = "";
  let buffered = "";
  let onLine: (() => void) | undefined;
  child.stdout.on("data", (d) => {
    buffered += d;
    const lines = buffered.split("\n");
    buffered = lines.pop()!;
    for (const line of lines) {
      try { logs.push(JSON.parse(line)); } catch { logs.push({ msg: line }); }
    }
    onLine?.();
  });
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`recbot did not start in 15 s: ${stderr.slice(-1000)}`)), 15_000);
    onLine = () => {
      if (logs.some((l) => l.msg === "recbot listening")) (clearTimeout(timer), resolve());
    };
    void exited.then((code) => (clearTimeout(timer), reject(new Error(`recbot exited (${code}): ${stderr.slice(-1000)}`))));
  });

  return {
    logs,
    url: logs.find((l) => l.msg === "recbot listening")?.url ?? "",
    pid: child.pid!,
    stderr: () => stderr,
    pairs: () => new Map(logs.filter((l) => l.msg === "connection state" && l.state === "connected" && l.pair).map((l) => [l.sessionId, l.pair])),
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
