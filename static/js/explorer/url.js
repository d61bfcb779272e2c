// Shareable state in the URL's hash: the walk's starting example (its network: the four
// sizes "cfg" for a seed-shaped one, else the network's JSON "network"; x or its preset's
// name, y, η, seed, and the parameters only when edited by hand; otherwise the seed
// rebuilds them; a mini-batch's images "xs" and labels "ys" and the example shown; the
// optimizer, when not gradient descent) and where the walk is (pass and step). Nothing the walk computed is in
// it: reopening the link walks there again on the server.

export const CONFIG_KEYS = ["input_size", "kernel_size", "filters", "pool_size"];

// What POST /api/exercises takes as {config, example} for the walk's current pass (its
// parameters are the ones that pass started from), for Practice on the numbers on screen.
// A seed-shaped walk carries its config; a walk on any other network, its network (as
// POST /api/exercises takes it: input, layers, output).
// A network as POST /api/sessions takes it (what a session's view holds beside it dropped).
export function networkSpec(network) {
  if (!network) return null;
  const { input, layers, output } = network;
  return { input, layers, output };
}

export function walkExample(walk) {
  const example = {
    x: walk.tensors.X, y: walk.tensors.Y, lr: walk.lr, pass: walk.epoch + 1,
    params: walk.params,
  };
  if (walk.config) {
    example.config = Object.fromEntries(CONFIG_KEYS.map((key) => [key, walk.config[key]]));
  } else if (walk.network) {
    const { input, layers, output } = walk.network;
    example.network = { input, layers, output };
  }
  return example;
}

export function encodeState(start, walk) {
  const h = new URLSearchParams();
  if (walk.config) h.set("cfg", CONFIG_KEYS.map((key) => walk.config[key]).join(","));
  else h.set("network", JSON.stringify(networkSpec(walk.network)));
  if (walk.batch > 1 && start.batch) { // a mini-batch: every image (";" between them) and label
    h.set("xs", start.batch.map((e) => e.x.flat().join(",")).join(";"));
    h.set("ys", start.batch.map((e) => e.y).join(","));
    if (walk.example) h.set("example", String(walk.example + 1));
  } else {
    if (start.presetName) h.set("preset", start.presetName);
    else h.set("x", walk.tensors.X.flat().join(","));
    h.set("y", String(walk.tensors.Y));
  }
  if (walk.optimizer) h.set("optimizer", JSON.stringify(walk.optimizer));
  h.set("lr", String(walk.lr));
  h.set("seed", String(walk.seed));
  if (start.params) h.set("params", JSON.stringify(start.params));
  if (walk.epoch) h.set("pass", String(walk.epoch + 1));
  h.set("step", String(walk.cursor));
  return `#${h.toString()}`;
}

// An image from its cells, row by row, or null.
function square(text) {
  const flat = text.split(",").map(Number);
  const n = Math.round(Math.sqrt(flat.length));
  return n * n === flat.length && flat.every(Number.isFinite) ? Array.from({ length: n }, (_, r) => flat.slice(r * n, r * n + n)) : null;
}

function ints(text) {
  return text.split(",").map((v) => Number.parseInt(v, 10));
}

// Whatever the hash holds, validated loosely; the server validates for real.
// A network from a link: its JSON (an object with layers), or nothing.
function readNetwork(text) {
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && Array.isArray(value.layers) ? value : null;
  } catch {
    return null;
  }
}

// `search`: the page's query, where /?network=<JSON> names a network to open (the hash's
// own network, if it has one, comes first).
export function decodeState(hash, search = "") {
  const h = new URLSearchParams(hash.replace(/^#/, ""));
  const q = new URLSearchParams(search.replace(/^\?/, ""));
  const out = {};
  const network = readNetwork(h.get("network") || "") || (h.has("cfg") ? null : readNetwork(q.get("network") || ""));
  if (network) out.network = network;
  if (h.has("cfg") && !out.network) {
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
  if (h.has("y")) { // 0 or 1, or a softmax network's class 0..9
    const y = Number(h.get("y"));
    out.y = Number.isInteger(y) && y >= 0 && y <= 9 ? y : 1;
  }
  if (h.has("lr") && Number.isFinite(Number(h.get("lr")))) out.lr = Number(h.get("lr"));
  if (h.has("seed") && Number.isInteger(Number(h.get("seed")))) out.seed = Number(h.get("seed"));
  if (h.has("params")) {
    try {
      out.params = JSON.parse(h.get("params"));
    } catch {
      /* a broken link keeps the seed's parameters */
    }
  }
  if (h.has("xs") && h.has("ys")) {
    const xs = h.get("xs").split(";").map(square);
    const ys = ints(h.get("ys"));
    if (xs.length > 1 && xs.every(Boolean) && ys.length === xs.length && ys.every(Number.isInteger)) {
      Object.assign(out, { x: xs, y: ys, presetName: null });
    }
  }
  if (h.has("example") && Number.isInteger(Number(h.get("example")))) out.example = Math.max(0, Number(h.get("example")) - 1);
  if (h.has("optimizer")) {
    try {
      const optimizer = JSON.parse(h.get("optimizer"));
      if (optimizer && typeof optimizer.type === "string") out.optimizer = optimizer;
    } catch {
      /* a broken link keeps gradient descent */
    }
  }
  if (h.has("pass") && Number.isInteger(Number(h.get("pass")))) out.epoch = Math.max(0, Number(h.get("pass")) - 1);
  if (h.has("step") && Number.isInteger(Number(h.get("step")))) out.cursor = Number(h.get("step"));
  return out;
}
