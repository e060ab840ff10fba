export interface ProgressState {
  elapsedS: number;
  totalS: number;
  framesSent: number;
  framesReturned: number;
  rttMs: number;
}

/** A progress bar on a TTY (redrawn in place), one plain line per update otherwise. */
export function createProgress(out: NodeJS.WriteStream | NodeJS.WritableStream) {
  const tty = "isTTY" in out && out.isTTY === true;
  return {
    update(p: ProgressState): void {
      const text = `${p.elapsedS.toFixed(0)}/${p.totalS} s  video frames returned ${p.framesReturned}/${p.framesSent}  rtt ${Number.isFinite(p.rttMs) ? p.rttMs.toFixed(1) : "–"} ms`;
      if (!tty) return void out.write(`loopback: ${text}\n`);
      const width = 30;
      const done = Math.min(width, Math.round((p.elapsedS / p.totalS) * width));
      out.write(`\r[${"#".repeat(done)}${".".repeat(width - done)}] ${text}\x1b[K`);
    },
    done(): void {
      if (tty) out.write("\n");
    },
  };
}
