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

// WCAG 2.1's relative luminance of an sRGB colour ("rgb(r, g, b)" or "#rrggbb").
export function luminance(color) {
  const rgb = color.startsWith("#") ? hexToRgb(color) : color.match(/\d+/g).slice(0, 3).map(Number);
  const [r, g, b] = rgb.map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

// WCAG's contrast ratio of two colours, from 1 (the same) to 21 (black on white).
export function contrast(a, b) {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

// The two text colours a cell can take. The dark one is pure black: with any lighter ink
// (#111827, the page's) some mid-tone of each scale (luminance .18 to .23) reaches 4.5:1
// with neither, while black or white reaches at least 4.59:1 on every colour there is.
export const DARK_TEXT = "#000000";
export const LIGHT_TEXT = "#ffffff";

// The text colour for a background: black or white, whichever contrasts more with it.
export function textOn(background) {
  return contrast(background, DARK_TEXT) >= contrast(background, LIGHT_TEXT) ? DARK_TEXT : LIGHT_TEXT;
}
