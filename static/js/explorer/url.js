// Shareable state in the URL's hash: the walk's starting example (config, x or its preset's
// name, y, η, seed, and the parameters only when edited by hand; otherwise the seed
// rebuilds them) and where the walk is (pass and step). Nothing the walk computed is in
// it: reopening the link walks there again on the server.

export const CONFIG_KEYS = ["input_size", "kernel_size", "filters", "pool_size"];

// What POST /api/exercises takes as {config, example} for the walk's current pass (its
// parameters are the ones that pass started from), for Practice on the numbers on screen.
export function walkExample(walk) {
  return {
    config: Object.fromEntries(CONFIG_KEYS.map((key) => [key, walk.config[key]])),
    x: walk.tensors.X, y: walk.tensors.Y, lr: walk.lr, pass: walk.epoch + 1,
    params: walk.params,
  };
}

export function encodeState(start, walk) {
  const h = new URLSearchParams();
  h.set("cfg", CONFIG_KEYS.map((key) => walk.config[key]).join(","));
  if (start.presetName) h.set("preset", start.presetName);
  else h.set("x", walk.tensors.X.flat().join(","));
  h.set("y", String(walk.tensors.Y));
  h.set("lr", String(walk.lr));
  h.set("seed", String(walk.seed));
  if (start.params) h.set("params", JSON.stringify(start.params));
  if (walk.epoch) h.set("pass", String(walk.epoch + 1));
  h.set("step", String(walk.cursor));
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
    } catch {
      /* a broken link keeps the seed's parameters */
    }
  }
  if (h.has("pass") && Number.isInteger(Number(h.get("pass")))) out.epoch = Math.max(0, Number(h.get("pass")) - 1);
  if (h.has("step") && Number.isInteger(Number(h.get("step")))) out.cursor = Number(h.get("step"));
  return out;
}
