// Numbers as the page prints them.

// Short enough for a heatmap cell: at most about four characters.
export function cellText(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  const sign = v < 0 ? "-" : "";
  if (a >= 100) return sign + a.toExponential(0).replace("e+", "e");
  if (a >= 10) return sign + a.toFixed(0);
  if (a >= 1) return sign + a.toFixed(1);
  if (a >= 0.01) return sign + a.toFixed(2).replace(/^0/, "");
  return sign + a.toExponential(0).replace("e-", "e-");
}

// Four significant digits, for sentences and cards.
export function short(v) {
  if (v === null || v === undefined) return "—";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e5) return String(Number(v.toPrecision(4)));
  return v.toExponential(3);
}

// Every digit a float64 holds, for hover.
export function full(v) {
  if (v === null || v === undefined) return "not finite";
  return String(v);
}

export function indexText(index) {
  return `[${index.join(",")}]`;
}
