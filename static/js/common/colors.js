// Colour scales. Signed tensors and every gradient use a diverging scale centred at zero
// (blue for negative, white for zero, red for positive); inputs and activations, which are
// never negative, a sequential one from white to near-black grey. The sequential scale
// carries no hue at all: a purple one turns navy under protanopia and deuteranopia, the
// very colour of the diverging scale's negative half, so an activation of .61 and a weight
// of -.31 looked alike. Grey against blue (and against red, which those viewers see as
// olive) stays apart under both; lightness carries the order in every scale.

export const DIVERGING = [
  [0.0, "#2166ac"], [0.25, "#67a9cf"], [0.5, "#f7f7f7"], [0.75, "#ef8a62"], [1.0, "#b2182b"],
];
export const SEQUENTIAL = [
  [0.0, "#ffffff"], [0.25, "#d9d9d9"], [0.5, "#969696"], [0.75, "#525252"], [1.0, "#1a1a1a"],
];

export function scaleFor(kind) {
  return kind === "sequential" ? SEQUENTIAL : DIVERGING;
}

function hexToRgb(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

// The colour of one value on a range {min, max, scale}: the same mapping Plotly draws.
export function colorOf(value, range) {
  const stops = scaleFor(range.scale);
  const span = range.max - range.min || 1;
  const t = Math.min(1, Math.max(0, (value - range.min) / span));
  for (let i = 1; i < stops.length; i += 1) {
    if (t <= stops[i][0]) {
      const [t0, c0] = stops[i - 1];
      const [t1, c1] = stops[i];
      const f = (t - t0) / (t1 - t0 || 1);
      const a = hexToRgb(c0);
      const b = hexToRgb(c1);
      const mix = a.map((x, k) => Math.round(x + (b[k] - x) * f));
      return `rgb(${mix[0]}, ${mix[1]}, ${mix[2]})`;
    }
  }
  return stops[stops.length - 1][1];
}

// Black or white text, whichever reads better on a background colour.
export function textOn(rgb) {
  const [r, g, b] = rgb.match(/\d+/g).map(Number);
  return 0.299 * r + 0.587 * g + 0.114 * b > 140 ? "#111827" : "#ffffff";
}
