// Go duration strings ("5s", "1m30s", "250ms") and bare numbers.
const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds for a Go duration; a bare number is taken in `bareUnit`. */
export function parseDuration(text: string, bareUnit: "ms" | "s" = "s"): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * (bareUnit === "s" ? 1000 : 1);
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += Number(m[1]) * UNITS[m[2]!]!;
    end = re.lastIndex;
  }
  if (end === 0 || end !== t.length) throw new Error(`invalid duration ${JSON.stringify(text)}`);
  return total;
}
