// The comparison as the page knows it: the server's view (both walks, the cells where they
// differ, the sentence), and what each move adds to it. Pure functions: nothing here
// touches the page.

// One walk's move applied to its view, as the explorer's stepping does: the step's record
// and the tensors it reveals are added, what is no longer known is dropped, the steps after
// the cursor lose their numbers again.
export function applySide(walk, move) {
  const known = new Set(move.known);
  const tensors = {};
  const ranges = {};
  for (const [name, value] of Object.entries({ ...walk.tensors, ...move.reveals })) {
    if (!known.has(name)) continue;
    tensors[name] = value;
    ranges[name] = move.ranges[name] || walk.ranges[name];
  }
  const steps = walk.steps.map((s, i) => (i > move.cursor ? {
    ...s, latex_numbers: null, mathml_numbers: null,
    also: (s.also || []).map((a) => ({ ...a, latex_numbers: null, mathml_numbers: null })),
  } : s));
  if (move.step) steps[move.cursor] = move.step;
  const example = move.example === undefined ? walk.example : move.example;
  return {
    ...walk, cursor: move.cursor, known: move.known, step: move.step, tensors, ranges, steps,
    update: move.update, marks: move.marks || {}, example, average: move.average ?? walk.average,
  };
}

// A move of both walks applied to the comparison, or null when it started another pass
// (the page then asks for the whole view: new parameters, new everything).
export function applyMove(state, move) {
  if (move.epoch !== state.epoch) return null;
  const a = applySide(state.a, move.a);
  const b = applySide(state.b, move.b);
  const both = (name) => name in a.tensors && name in b.tensors;
  const differs = {};
  for (const [name, cells] of Object.entries(state.differs)) {
    if (!name.startsWith("new ") && both(name)) differs[name] = cells;
  }
  return { ...state, position: move.position, a, b, differs: { ...differs, ...move.differs }, explain: move.explain };
}

// Which walks take a step at the comparison's position: [a, b] (false: that walk waits).
export function moving(state) {
  if (state.position < 0) return [false, false];
  const [i, j] = state.positions[state.position] || [null, null];
  return [i !== null, j !== null];
}

// What tells the two walks apart, for their titles: the layers one has and the other has
// not (by their labels, as the server writes them), the batch and the optimizer.
export function sideLabels(a, b, meta) {
  const labels = (w) => w.network.nodes.map((n) => n.label);
  const only = (mine, theirs) => {
    const left = [...theirs];
    return mine.filter((label) => {
      const at = left.indexOf(label);
      if (at < 0) return true;
      left.splice(at, 1);
      return false;
    });
  };
  const la = labels(a);
  const lb = labels(b);
  const parts = [only(la, lb), only(lb, la)];
  const batch = (w) => w.batch || 1;
  if (batch(a) !== batch(b)) {
    [a, b].forEach((w, k) => parts[k].push(batch(w) > 1 ? `batch of ${batch(w)}` : "one example"));
  }
  const optimizer = (w) => (w.optimizer && w.optimizer.type) || "sgd";
  if (optimizer(a) !== optimizer(b)) {
    const titles = meta.optimizers || {};
    [a, b].forEach((w, k) => parts[k].push((titles[optimizer(w)] || {}).title || optimizer(w)));
  }
  if (a.network.output !== b.network.output && !parts[0].length && !parts[1].length) {
    parts[0].push(a.network.output);
    parts[1].push(b.network.output);
  }
  return parts.map((p, k) => {
    const theirs = parts[1 - k];
    if (!p.length && theirs.length) return `without ${theirs.length > 3 ? `${theirs.slice(0, 3).join(", ")}, …` : theirs.join(", ")}`;
    if (!p.length) return k === 0 ? "the same as b" : "the same as a";
    return p.length > 3 ? `${p.slice(0, 3).join(", ")}, …` : p.join(", ");
  });
}

// ------------------------------------------------------------------------- the link
// The link carries what was asked for, not what was computed: ?switch=NAME&base=<JSON> or
// ?a=<JSON>&b=<JSON>, and where the comparison stands (pass, position, example).
export function encodeLink(start, state) {
  const q = new URLSearchParams();
  if (start.switch) {
    q.set("switch", start.switch);
    q.set("base", JSON.stringify(start.base || {}));
  } else {
    q.set("a", JSON.stringify(start.a || {}));
    q.set("b", JSON.stringify(start.b || {}));
  }
  if (state) {
    if (state.epoch) q.set("pass", String(state.epoch + 1));
    q.set("position", String(state.position));
    if (state.example) q.set("example", String(state.example));
  }
  return `?${q.toString()}`;
}

function readJson(text) {
  if (text === null) return undefined;
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

// What a link asks for, loosely checked (the server checks for real), or null.
export function decodeLink(search) {
  const q = new URLSearchParams(search.replace(/^\?/, ""));
  const int = (key, lowest) => {
    const v = Number(q.get(key));
    return q.has(key) && Number.isInteger(v) && v >= lowest ? v : undefined;
  };
  const at = { epoch: Math.max(0, (int("pass", 1) || 1) - 1), position: int("position", -1) ?? -1, example: int("example", 0) || 0 };
  if (q.has("switch")) return { start: { switch: q.get("switch"), base: readJson(q.get("base")) || {} }, at };
  const a = readJson(q.get("a"));
  const b = readJson(q.get("b"));
  if (a && b) return { start: { switch: null, a, b }, at };
  return null;
}
