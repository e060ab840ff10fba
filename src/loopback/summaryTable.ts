import type { Check } from "./thresholds.ts";

/** A plain-text table of the checks (for terminals and CI logs). */
export function summaryTable(checks: readonly Check[]): string {
  const rows = [["check", "value", "threshold", "result"], ...checks.map((c) => [c.name, c.value, c.limit, c.pass ? "pass" : "FAIL"])];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)].join("\n");
}
