// Whether a network fits, checked on the page before anything is sent: the grammar, the
// options' ranges and the sizes, as engine/network.py checks them (the server checks again).
// Every problem names its layer ("Layer 3 (dense)"), one message each. The kinds, their
// options and the limits are the server's (GET /api/meta: kinds, network_limits).

export const OUTPUTS = ["sigmoid_bce", "softmax_ce"];

const ROLE_WORDS = {
  start: "the input", conv: "a conv", act: "an activation", pool: "a pool",
  flatten: "the flatten", dense: "a dense layer",
};

// "Layer 3 (dense)" for layers[2]; the field's words for the rest.
export function layerName(index, type) {
  return `Layer ${index + 1}${type ? ` (${type})` : ""}`;
}

// A layer with every option its kind has: the defaults filled (a pool's stride follows
// its size), as the server fills them.
export function withDefaults(layer, kind) {
  const out = { type: layer.type };
  for (const [key, option] of Object.entries(kind.options)) {
    let value = layer[key];
    if (value === undefined || value === null || value === "") value = option.default === null ? (layer.size ?? kind.options.size.default) : option.default;
    out[key] = value;
  }
  return out;
}

const prod = (shape) => shape.reduce((a, b) => a * b, 1);

// The shapes layer by layer, or the first layer whose sizes do not fit (as the engine stops
// at the first: what comes after it has no input to measure).
function shapesOf(spec, roles) {
  const n = spec.input.size;
  const nodes = [];
  let shape = [n, n];
  let first = true;
  const lastDense = spec.layers.map((l) => l.type).lastIndexOf("dense");
  let number = 0;
  for (const [i, layer] of spec.layers.entries()) {
    const role = roles[layer.type];
    const params = {};
    let out;
    if (role === "conv") {
      number += 1;
      const { filters: K, kernel: k, stride: s, padding: pad } = layer;
      const [C, H] = first ? [1, shape[0]] : [shape[0], shape[1]];
      if (k > H + 2 * pad) {
        return { error: { index: i, message: `kernel ${k} is larger than its input (${H}×${H}${pad ? ` padded by ${pad}` : ""})` } };
      }
      if (pad >= k) return { error: { index: i, message: `padding ${pad} must be smaller than the kernel ${k}` } };
      const o = Math.floor((H + 2 * pad - k) / s) + 1;
      out = [K, o, o];
      params[`W${number}`] = first ? [K, k, k] : [K, C, k, k];
      params[`b${number}`] = [K];
    } else if (role === "pool") {
      if (shape.length !== 3) return { error: { index: i, message: "a pool needs an image" } };
      const [C, H] = shape;
      if (layer.size > H) return { error: { index: i, message: `pool size ${layer.size} is larger than its input (${H}×${H})` } };
      const o = Math.floor((H - layer.size) / layer.stride) + 1;
      out = [C, o, o];
    } else if (role === "flatten") {
      out = [prod(shape)];
    } else if (role === "dense") {
      number += 1;
      if (shape.length !== 1) return { error: { index: i, message: "dense needs a flatten before it" } };
      const U = layer.units;
      out = i === lastDense && spec.output === "sigmoid_bce" ? [] : [U];
      params[`W${number}`] = [U, shape[0]];
      params[`b${number}`] = [U];
    } else {
      out = shape;
    }
    const writes = { conv: `Z${number}`, dense: `Z${number}`, act: `A${number}`, pool: `P${number}`, flatten: "F" }[role];
    nodes.push({ index: i, type: layer.type, out, params, writes });
    shape = out;
    first = false;
  }
  return { nodes };
}

// Every problem of a network {input: {size}, layers, output}: [{index (a layer's, or null),
// field, message}], and its parameter count when it fits.
export function checkNetwork(spec, meta) {
  const limits = meta.network_limits;
  const kinds = Object.fromEntries(meta.kinds.filter((k) => k.role !== "output").map((k) => [k.type, k]));
  const roles = Object.fromEntries(Object.values(kinds).map((k) => [k.type, k.role]));
  const problems = [];
  const add = (index, message, field = "") => problems.push({ index, field, message });
  const size = spec.input && spec.input.size;
  if (!Number.isInteger(size) || size < limits.input_min || size > limits.input_max) {
    add(null, `must be a whole number from ${limits.input_min} to ${limits.input_max}`, "input size");
  }
  if (!OUTPUTS.includes(spec.output)) add(null, `must be one of ${OUTPUTS.join(", ")}`, "output");
  const layers = spec.layers || [];
  if (!layers.length) {
    add(null, "the network needs layers (at least a flatten and a dense layer)", "layers");
    return { problems };
  }
  if (layers.length > limits.layers) {
    add(null, `at most ${limits.layers} layers, this network has ${layers.length}`, "layers");
    return { problems };
  }
  let known = true;
  layers.forEach((layer, i) => {
    const kind = kinds[layer.type];
    if (!kind) {
      add(i, `is not a kind of layer (${Object.keys(kinds).join(", ")})`);
      known = false;
      return;
    }
    for (const [key, option] of Object.entries(kind.options)) {
      const value = layer[key];
      const whole = option.type === "int";
      const ok = typeof value === "number" && Number.isFinite(value) && (!whole || Number.isInteger(value))
        && value >= option.min && value <= option.max;
      if (!ok) add(i, `must be ${whole ? "a whole number" : "a number"} from ${option.min} to ${option.max}`, key);
    }
  });
  if (!known) return { problems };
  // the grammar: conv blocks, one flatten, dense blocks; the last layer a dense
  const role = (i) => roles[layers[i].type];
  const flats = layers.map((l, i) => (roles[l.type] === "flatten" ? i : -1)).filter((i) => i >= 0);
  if (flats.length > 1) add(flats[1], "a second flatten: the network has one, between its conv and dense layers");
  let previous = "start";
  layers.forEach((layer, i) => {
    const r = role(i);
    if (r === "dense" && !flats.length) add(i, "dense needs a flatten before it");
    else if (r === "dense" && i < flats[0]) add(i, "dense needs a flatten before it (this one comes before the flatten)");
    if (r === "conv" && flats.length && i > flats[0]) add(i, "conv after the flatten: a conv needs an image");
    if (r === "act" && !["conv", "dense"].includes(previous)) {
      add(i, `${layer.type} must follow a conv or dense layer (it follows ${ROLE_WORDS[previous]})`);
    }
    const afterConv = previous === "conv" || (previous === "act" && i >= 2 && role(i - 2) === "conv");
    if (r === "pool" && (!afterConv || (flats.length && i > flats[0]))) {
      const what = previous === "act" && i >= 2 && role(i - 2) === "dense" ? "a dense layer's activation" : ROLE_WORDS[previous];
      add(i, `${layer.type} must follow a conv layer or its activation (it follows ${what})`);
    }
    previous = r;
  });
  const last = layers.length - 1;
  if (role(last) !== "dense") {
    add(last, `the last layer must be dense (the ${spec.output} output reads its Z), got ${layers[last].type}`);
  } else if (Number.isInteger(layers[last].units)) {
    const units = layers[last].units;
    if (spec.output === "sigmoid_bce" && units !== 1) add(last, `sigmoid_bce needs a last dense layer of 1 unit, got ${units}`, "units");
    if (spec.output === "softmax_ce" && !(units >= 2 && units <= 10)) add(last, `softmax_ce needs 2 to 10 units (one per class), got ${units}`, "units");
  }
  if (problems.length) return { problems };
  // the sizes, layer by layer, and the caps
  const built = shapesOf(spec, roles);
  if (built.error) {
    add(built.error.index, built.error.message);
    return { problems };
  }
  let params = 0;
  for (const node of built.nodes) {
    let biggest = [node.writes, prod(node.out)];
    for (const [name, shape] of Object.entries(node.params)) {
      params += prod(shape);
      if (prod(shape) > biggest[1]) biggest = [name, prod(shape)];
    }
    if (biggest[1] > limits.tensor) add(node.index, `${biggest[0]} would hold ${biggest[1]} cells: at most ${limits.tensor}`);
  }
  if (params > limits.params) add(null, `${params} parameters: at most ${limits.params}`, "layers");
  return { problems, nParams: params };
}

// One line per problem, naming the layer: "Layer 3 (dense), units: must be ...".
export function problemText(problem, layers) {
  if (problem.index === null || problem.index === undefined) {
    const field = problem.field ? problem.field[0].toUpperCase() + problem.field.slice(1) : "The network";
    return `${field}: ${problem.message}`;
  }
  const layer = layers[problem.index];
  const head = layerName(problem.index, layer && layer.type);
  return `${head}${problem.field ? `, ${problem.field}` : ""}: ${problem.message}`;
}

// The server's 422 (loc ["body", "network", "layers", i, option]) as the same problems.
export function serverProblems(detail) {
  if (!Array.isArray(detail)) return [{ index: null, field: "", message: String(detail || "refused") }];
  return detail.map((d) => {
    const loc = (d.loc || []).filter((p) => p !== "body");
    const at = loc.indexOf("layers");
    if (loc[0] === "network" && at >= 0 && Number.isInteger(loc[at + 1])) {
      return { index: loc[at + 1], field: loc[at + 2] === undefined ? "" : String(loc[at + 2]), message: d.msg };
    }
    const field = loc.filter((p) => p !== "network").join(" ").replace("input size", "input size");
    return { index: null, field, message: d.msg };
  });
}
