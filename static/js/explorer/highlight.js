// Linked highlighting: hover a cell (or walk a panel's cells with the arrow keys) to light
// the cells that made it. The server says which ones (engine/provenance.py, asked per cell
// and only for tensors the walk has shown); this module only draws the answer. Answers are
// kept per walk state, so a cell hovered twice costs one request. A click pins a cell:
// its sources stay lit until another click, Escape, or a move of the walk. Once a step has
// revealed a tensor, the page fetches the provenance of all its cells in one request while
// the browser is idle, so hovering it usually needs no request at all.

import { short, indexText } from "../common/format.js";

const factor = (v) => (v < 0 ? `(${short(v)})` : short(v));

function sumText(found, biasName) {
  const pairs = (found.factors || []).map(([a, b]) => ({ value: a * b, text: `${factor(a)}×${factor(b)}` }));
  const shown = pairs.filter((p) => p.value !== 0);
  const parts = shown.slice(0, 6).map((p) => p.text);
  const more = shown.length > 6 ? ` + … (${shown.length - 6} more)` : "";
  const zeros = pairs.length - shown.length;
  const bias = found.bias !== null && found.bias !== undefined ? ` + ${biasName} (${short(found.bias)})` : "";
  return (parts.join(" + ") || "0") + more + bias + (zeros ? ` (${zeros} zero term${zeros > 1 ? "s" : ""} left out)` : "");
}

// The sentence for a provenance answer, e.g. "Z1[0,1,2] = 0.04427 = 1×0.09131 + …: the X
// window times W1, summed, plus b1".
export function describe(found, biasName = "b1") {
  const head = `${found.tensor}${indexText(found.index)} = ${short(found.value)}`;
  const sum = found.factors ? ` = ${sumText(found, biasName)}` : "";
  const single = Object.entries(found.sources)
    .filter(([, cells]) => cells.length === 1)
    .map(([name, [cell]]) => `${name}${indexText(cell)}`);
  const from = !found.factors && single.length ? ` (${single.join(", ")})` : "";
  return `${head}${sum}: ${found.note}${from}`;
}

// Requests go through ``run`` (the walk's queue), so the server answers them at the step
// the page is at: a hover sent just before a step back is not refused for being too late.
export function createHighlight({ store, api, panels, detail, run }) {
  const cache = new Map(); // "walk key|tensor|index" -> provenance answer
  let lit = [];
  let token = 0;
  let pinned = null; // {name, index}
  // The tensors whose cells have sources: the server's list for the seed's network; for
  // any other, every tensor a step shows but the output's (A, L and their gradients, dZ of
  // the last layer) and a scalar Z of the last dense layer (engine.provenance's rule).
  const seedSources = store.get().meta.provenance;
  let sourcesOf = null;
  let sources = new Set(seedSources);
  function sourcesFor(walk) {
    if (!walk || sourcesOf === walk.network) return;
    sourcesOf = walk.network;
    if (walk.config) {
      sources = new Set(seedSources);
      return;
    }
    const nodes = walk.network.nodes;
    const output = nodes[nodes.length - 1];
    const last = output.reads;
    const none = new Set([output.writes, "L", `d${output.writes}`, `d${last}`]);
    if (!(walk.network.shapes[last] || []).length) none.add(last);
    sources = new Set();
    for (const s of walk.steps) {
      for (const name of [...(s.reveals || []), ...(s.also || []).map((a) => a.writes)]) if (!none.has(name)) sources.add(name);
    }
  }
  // The tensor a pooling window of ``name`` lies on: the pool's input (for P and for dA).
  function windowOn(name) {
    const nodes = store.get().walk.network.nodes;
    const pool = nodes.find((n) => n.writes === name && /pool$/.test(n.type));
    if (pool) return pool.reads;
    const back = nodes.find((n) => `d${n.reads}` === name && /pool$/.test(n.type));
    return back ? back.reads : "A1";
  }

  const walkKey = (w) => `${w.id}|${w.epoch}`;

  function clear() {
    for (const view of lit) view.highlight([]);
    lit = [];
  }

  function draw(found) {
    clear();
    const marks = { [found.tensor]: [{ index: found.index, kind: "focus" }] };
    for (const [name, cells] of Object.entries(found.sources)) {
      marks[name] = (marks[name] || []).concat(cells.map((index) => ({ index, kind: "source" })));
    }
    if (found.window) {
      const on = windowOn(found.tensor);
      marks[on] = found.window.map((index) => ({ index, kind: "source" }));
      // a max-pool's winner among its window (a mean's sources are the window itself)
      const pool = store.get().walk.network.nodes.find((n) => n.writes === found.tensor);
      if (pool && pool.type === "maxpool" && found.sources[on]) {
        marks[on].push(...found.sources[on].map((index) => ({ index, kind: "focus" })));
      }
    }
    for (const [name, cells] of Object.entries(marks)) {
      const view = panels.view(name);
      if (!view || store.get().walk.tensors[name] === undefined) continue;
      view.highlight(cells);
      lit.push(view);
    }
    const writer = store.get().walk.network.nodes.find((n) => n.writes === found.tensor);
    detail().textContent = describe(found, writer && writer.params[1] ? writer.params[1] : "b1");
  }

  async function show(name, index, { pin = false } = {}) {
    const walk = store.get().walk;
    sourcesFor(walk);
    if (pinned && !pin) return;
    if (walk.tensors[name] === undefined) return;
    const mine = ++token;
    if (!sources.has(name)) {
      clear();
      const view = panels.view(name);
      view.highlight([{ index, kind: "focus" }]);
      lit.push(view);
      const value = index.reduce((v, i) => v[i], Array.isArray(walk.tensors[name]) ? walk.tensors[name] : [walk.tensors[name]]);
      detail().textContent = `${name}${indexText(index)} = ${short(value)}: given, not computed by a step of this pass`;
      return;
    }
    const key = `${walkKey(walk)}|${name}|${index.join(",")}`;
    let found = cache.get(key);
    if (!found) {
      const asked = generation;
      found = await run(() => {
        const now = store.get().walk;
        return now.known.includes(name) ? api.provenance(now.id, name, index, now.example || 0) : null;
      });
      if (!found || asked !== generation) return; // refused, or about numbers now changed
      cache.set(key, found);
    }
    if (mine !== token || store.get().walk !== walk) return; // the pointer (or the walk) moved on
    draw(found);
  }

  // Every cell of each revealed tensor, one tensor per idle moment.
  const fetched = new Set(); // "walk key|tensor"
  let idle = null;
  let generation = 0; // bumped whenever the walk's numbers change
  function prefetch() {
    const walk = store.get().walk;
    sourcesFor(walk);
    const name = walk.known.find((n) => sources.has(n) && !fetched.has(`${walkKey(walk)}|${n}`));
    if (!name) return;
    const mark = `${walkKey(walk)}|${name}`;
    const asked = generation;
    fetched.add(mark);
    run(() => {
      const now = store.get().walk;
      if (asked !== generation || !now.known.includes(name)) return null;
      return api.provenanceCells(now.id, name, now.example || 0);
    }).then((answer) => {
      if (!answer || asked !== generation) { // stepped back past it, or the numbers changed
        fetched.delete(mark);
        return;
      }
      for (const found of answer.cells) cache.set(`${walkKey(walk)}|${name}|${found.index.join(",")}`, found);
      later();
    });
  }
  function later() {
    const soon = window.requestIdleCallback || ((f) => setTimeout(f, 50));
    if (idle === null) idle = soon(() => { idle = null; prefetch(); });
  }

  return {
    prefetch: later,
    hover: (name, index) => show(name, index),
    leave: () => { if (!pinned) clear(); },
    // A click pins the cell (a second click on it, or Escape, unpins): it never steps.
    pin(name, index) {
      const same = pinned && pinned.name === name && pinned.index.join() === index.join();
      pinned = null;
      if (same) {
        clear();
        return;
      }
      show(name, index, { pin: true }).then(() => { pinned = { name, index }; });
    },
    unpin() {
      pinned = null;
      clear();
    },
    pinned: () => pinned,
    // The walk moved or changed: nothing stays lit, and answers about old numbers go.
    reset(changed) {
      pinned = null;
      token += 1;
      clear();
      if (changed) {
        generation += 1;
        cache.clear();
        fetched.clear();
      }
    },
  };
}
