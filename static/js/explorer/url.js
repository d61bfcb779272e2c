// Shareable state in the URL's hash: config, x, y, params, η, seed and the step.
// Parameters that are still init_params(seed) are left out (the seed rebuilds them), and
// an input that is still a preset is stored by its name.

const CONFIG_KEYS = ["input_size", "kernel_size", "filters", "pool_size"];

export function encodeState(s) {
  const h = new URLSearchParams();
  h.set("cfg", CONFIG_KEYS.map((key) => s.config[key]).join(","));
  if (s.presetName) h.set("preset", s.presetName);
  else h.set("x", s.x.flat().join(","));
  h.set("y", String(s.y));
  h.set("lr", String(s.lr));
  h.set("seed", String(s.seed));
  if (s.paramsEdited && s.params) h.set("params", JSON.stringify(s.params));
  h.set("step", String(s.cursor));
  return `#${h.toString()}`;
}

function ints(text) {
  return text.split(",").map((v) => Number.parseInt(v, 10));
}

// Whatever the hash holds, validated loosely; the server validates for real.
export function decodeState(hash) {
  const h = new URLSearchParams(hash.replace(/^#/, ""));
  const out = {};
  if (h.has("cfg")) {
    const values = ints(h.get("cfg"));
    if (values.length === 4 && values.every(Number.isFinite)) {
      out.config = Object.fromEntries(CONFIG_KEYS.map((key, i) => [key, values[i]]));
    }
  }
  if (h.has("preset")) out.presetName = h.get("preset");
  if (h.has("x")) {
    const flat = h.get("x").split(",").map(Number);
    const n = Math.round(Math.sqrt(flat.length));
    if (n * n === flat.length && flat.every(Number.isFinite)) {
      out.x = Array.from({ length: n }, (_, r) => flat.slice(r * n, r * n + n));
      out.presetName = null;
    }
  }
  if (h.has("y")) out.y = h.get("y") === "0" ? 0 : 1;
  if (h.has("lr") && Number.isFinite(Number(h.get("lr")))) out.lr = Number(h.get("lr"));
  if (h.has("seed") && Number.isInteger(Number(h.get("seed")))) out.seed = Number(h.get("seed"));
  if (h.has("params")) {
    try {
      out.params = JSON.parse(h.get("params"));
      out.paramsEdited = true;
    } catch {
      /* a broken link keeps the seed's parameters */
    }
  }
  if (h.has("step") && Number.isInteger(Number(h.get("step")))) out.cursor = Number(h.get("step"));
  return out;
}
