// The given tensors of an exercise: each as a heatmap (the shared TensorView, coloured on
// the server's range) with its values written out to four significant digits below, the
// numbers a student computes with: the view's own table, shown on screen here. In the
// routing steps a click on a value (or on its heatmap cell) enters it into the answer.

import { TensorView } from "../common/heatmap.js";

const LABELS = { Y: "the label", lr: "η", t: "the update's count", beta: "β, momentum's decay",
  beta1: "β₁, the first moment's decay", beta2: "β₂, the second moment's decay",
  eps: "ε, added to the root" };
// An optimizer's state before the update (v_W1, m_W1, s_W1) and a batch's per-example
// gradients (dW1(2)): what each is.
const STATE_LABELS = { v: "velocity, before this update", m: "first moment, before",
  s: "second moment, before" };

function labelOf(name) {
  if (LABELS[name]) return LABELS[name];
  const state = /^([vms])_/.exec(name);
  if (state) return STATE_LABELS[state[1]];
  const example = /^d.+\((\d+)\)$/.exec(name);
  if (example) return `example ${example[1]}'s gradient`;
  return "";
}

export class Givens {
  constructor(container, { onPick }) {
    this.container = container;
    this.onPick = onPick; // (value) => void, for clickable values
    this.views = new Map();
  }

  render(given, ranges, { clickable = false, lr = null } = {}) {
    this.container.replaceChildren();
    this.views.clear();
    const entries = Object.entries(given);
    if (lr !== null) entries.push(["η", lr]);
    for (const [name, value] of entries) {
      const panel = document.createElement("figure");
      panel.className = "given";
      panel.dataset.tensor = name;
      const caption = document.createElement("figcaption");
      caption.innerHTML = `<span class="name"></span> <span class="role"></span>`;
      caption.querySelector(".name").textContent = name;
      caption.querySelector(".role").textContent = labelOf(name);
      panel.append(caption);
      const heat = document.createElement("div");
      heat.className = "heat";
      panel.append(heat);
      this.container.append(panel);
      const range = ranges[name] || { min: -Math.abs(value) || -1, max: Math.abs(value) || 1, scale: "diverging" };
      const pickable = clickable && Array.isArray(value);
      const onClick = pickable ? (_, index) => this.onPick(index.reduce((v, i) => v[i], value)) : undefined;
      const pick = pickable ? (_, v) => this.onPick(v) : undefined;
      const view = new TensorView(heat, { name, cell: 34, onClick, table: "shown", pick });
      view.render(value, range);
      if (view.tableBox) view.tableBox.classList.add("values");
      this.views.set(name, view);
    }
  }

  // Outline the cells that feed a wrong cell, in the heatmap and the values: {name: [index, ...]}.
  highlight(feeds) {
    for (const [name, view] of this.views) {
      const marks = (feeds[name] || []).map((index) => ({ index, kind: "source" }));
      if (view.signature) view.highlight(marks);
      const keys = new Set((feeds[name] || []).map((ix) => JSON.stringify(ix)));
      for (const [key, td] of view.tableCells) td.firstChild.classList.toggle("feeds", keys.has(key));
    }
  }
}
