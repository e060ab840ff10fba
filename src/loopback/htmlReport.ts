import type { SeriesPoint } from "../testkit/echoMeter.ts";
import type { LoopbackReport } from "./runLoopback.ts";

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** One line chart as inline SVG: value over seconds, axes with min/max labels. */
function lineChart(title: string, unit: string, points: readonly SeriesPoint[], pick: (p: SeriesPoint) => number, color: string): string {
  const W = 460, H = 180, L = 48, R = 12, T = 26, B = 28;
  const xs = points.map((p) => p.t);
  const ys = points.map(pick).filter(Number.isFinite);
  const xMax = Math.max(1, ...xs);
  const yMax = ys.length ? Math.max(...ys) * 1.15 || 1 : 1;
  const x = (t: number) => L + (t / xMax) * (W - L - R);
  const y = (v: number) => T + (1 - v / yMax) * (H - T - B);
  const path = points
    .filter((p) => Number.isFinite(pick(p)))
    .map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(pick(p)).toFixed(1)}`)
    .join(" ");
  const dots = points
    .filter((p) => Number.isFinite(pick(p)))
    .map((p) => `<circle cx="${x(p.t).toFixed(1)}" cy="${y(pick(p)).toFixed(1)}" r="2.5" fill="${color}"><title>${p.t} s: ${pick(p).toFixed(2)} ${esc(unit)}</title></circle>`)
    .join("");
  const grid = [0, 0.5, 1]
    .map((f) => {
      const v = yMax * f;
      return `<line x1="${L}" x2="${W - R}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/><text x="${L - 6}" y="${y(v) + 4}" text-anchor="end">${v < 10 ? v.toFixed(1) : v.toFixed(0)}</text>`;
    })
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">
<text x="${L}" y="16" class="t">${esc(title)} (${esc(unit)})</text>${grid}
<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#888"/>
<text x="${L}" y="${H - 8}">0 s</text><text x="${W - R}" y="${H - 8}" text-anchor="end">${xMax} s</text>
<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>${dots}</svg>`;
}

/** A self-contained HTML page (no scripts, no external files) for people to open after a run. */
export function htmlReport(report: LoopbackReport): string {
  const s = report.series;
  const rows = report.checks
    .map((c) => `<tr class="${c.pass ? "pass" : "fail"}"><td>${esc(c.name)}</td><td>${esc(c.value)}</td><td>${esc(c.limit)}</td><td>${c.pass ? "pass" : "FAIL"}</td></tr>`)
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>recbot loopback report</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:20px;margin:0 0 4px} .meta{color:#666;margin-bottom:16px}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;font-weight:600}
.verdict.pass{background:#2e7d32}.verdict.fail{background:#c62828}
table{border-collapse:collapse;margin:16px 0}td,th{border-bottom:1px solid #ddd;padding:4px 10px;text-align:left}
tr.fail td{background:#fdecea} tr.fail td:last-child{color:#c62828;font-weight:600} tr.pass td:last-child{color:#2e7d32}
.charts{display:grid;grid-template-columns:repeat(2,460px);gap:12px}
svg{background:#fafafa;border:1px solid #eee} svg text{font:11px system-ui,sans-serif;fill:#555} svg text.t{font-weight:600;fill:#222}
</style></head><body>
<h1>recbot loopback report <span class="verdict ${report.passed ? "pass" : "fail"}">${report.passed ? "PASS" : "FAIL"}</span></h1>
<div class="meta">${esc(report.target)} · started ${esc(report.startedAt)} · ${report.secondsSent} s of VP8 + Opus flash/beep in echo mode${report.recording && "file" in report.recording ? ` · recording ${esc(report.recording.file)}` : ""}</div>
<table><thead><tr><th>check</th><th>value</th><th>threshold</th><th>result</th></tr></thead><tbody>
${rows}
</tbody></table>
<div class="charts">
${lineChart("Returned bitrate", "kbit/s", s, (p) => p.kbpsReturned, "#1565c0")}
${lineChart("Round trip (median)", "ms", s, (p) => p.rttMs, "#6a1b9a")}
${lineChart("Frames not returned", "%", s, (p) => p.lossPct, "#c62828")}
${lineChart("Video jitter", "ms", s, (p) => p.jitterMs, "#ef6c00")}
</div>
<p class="meta">Round trip: from writing a frame's packets to receiving the whole frame back from recbot's echo (RTP timestamps match).
Jitter: RFC 3550 interarrival jitter of the returned video. Points are per second of sending.</p>
</body></html>
`;
}
