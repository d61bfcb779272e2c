// Numbers as the page prints them: one rule for cells, cards, formulas and hover, kept in
// step with engine/steps.py (num_parts): round to 4 significant digits; write the rounded
// value plainly when 0.001 <= |value| < 100000, else as a power of ten ("2.576e-4"); drop
// trailing zeros. A heatmap cell rounds the same value to fewer significant digits when it
// is too narrow for four, and drops the leading 0 of "0.31" (".31"); it never cuts one off.

export const DIGITS = 4;

const plain = (v) => String(v); // JavaScript and Python both write the shortest round trip

export function parts(v, digits = DIGITS) {
  if (v === 0) return { mantissa: "0", exponent: null };
  const rounded = Number(v.toPrecision(digits));
  const a = Math.abs(rounded);
  if (a >= 1e-3 && a < 1e5) return { mantissa: plain(rounded), exponent: null };
  const [m, e] = v.toExponential(digits - 1).split("e");
  return { mantissa: plain(Number(m)), exponent: Number(e) };
}

export function numText(v, digits = DIGITS) {
  const { mantissa, exponent } = parts(v, digits);
  return exponent === null ? mantissa : `${mantissa}e${exponent}`;
}

// The rule, for sentences, cards and hover.
export function short(v) {
  if (v === null || v === undefined) return "—";
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  return numText(v);
}

let ruler = null;
let family = null;
function widthOf(text, fontPx) {
  if (!ruler) {
    ruler = document.createElement("canvas").getContext("2d");
    family = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
  }
  ruler.font = `${fontPx}px ${family}`;
  return ruler.measureText(text).width - 0.02 * fontPx * text.length; // cells' letter-spacing
}

// The rule for a heatmap cell `room` pixels wide at `fontPx`: the most significant digits
// (at most four, at least one) that fit. A value below 1 too narrow for even its first
// digit (".001", "3e-17" in a narrow cell) is written as it rounds at the cell's width,
// "0", or "-0" when it is below zero, as an exact zero beside it is "0": a cell with a
// value is never blank. A value of 1 or more keeps its first digit ("1e12"); the full value
// is on hover either way.
export function cellText(v, room = Infinity, fontPx = 12) {
  if (v === null || v === undefined || Number.isNaN(v)) return "";
  if (!Number.isFinite(v)) return v > 0 ? "∞" : "−∞";
  const fits = (text) => room === Infinity || widthOf(text, fontPx) <= room;
  for (let digits = DIGITS; digits >= 1; digits -= 1) {
    const text = numText(v, digits).replace(/^(-?)0\./, "$1.");
    if (fits(text)) return text;
  }
  if (Math.abs(v) < 1) return v < 0 ? "-0" : "0";
  return numText(v, 1);
}

// Every digit a float64 holds, for hover.
export function full(v) {
  if (v === null || v === undefined) return "not finite";
  return String(v);
}

// One index notation everywhere: the full index in the tensor's shape, filter axis first.
export function indexText(index) {
  return `[${index.join(",")}]`;
}

// A number as a person types it: spaces around it, a typographic minus ("−"), and a
// decimal comma ("−0,626", as many countries write it) read as a point. NaN for anything
// else, the empty text included.
export function readNumber(text) {
  const t = String(text).trim().replace(/−/g, "-");
  if (t === "") return NaN;
  return Number(/^[-+]?(\d+,\d*|,\d+)(e[-+]?\d+)?$/i.test(t) ? t.replace(",", ".") : t);
}
