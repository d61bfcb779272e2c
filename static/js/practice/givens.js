// The given tensors of an exercise: each as a heatmap (the shared TensorView, coloured on
// the server's range) with its values written out to four significant digits below, the
// numbers a student computes with. In the routing steps a click on a value (or on its
// heatmap cell) enters it into the answer.

import { TensorView } from "../common/heatmap.js";
import { full, short } from "../common/format.js";

// Rows of [index, value] for a tensor: a number, a row, or a grid per filter.
function rows(value) {
  if (!Array.isArray(value)) return [{ caption: "", cells: [[[[], value]]] }];
  if (!Array.isArray(value[0])) return [{ caption: "", cells: [value.map((v, i) => [[i], v])] }];
  if (!Array.isArray(value[0][0])) {
    return [{ caption: "", cells: value.map((row, r) => row.map((v, c) => [[r, c], v])) }];
  }
  return value.map((plane, f) => ({
    caption: value.length > 1 ? `filter ${f}` : "",
    cells: plane.map((row, r) => row.map((v, c) => [[f, r, c], v])),
  }));
}

const LABELS = { Y: "the label", lr: "η" };

export class Givens {
  constructor(container, { onPick }) {
    this.container = container;
    this.onPick = onPick; // (value) => void, for clickable values
    this.views = new Map();
    this.tables = new Map();
  }

  render(given, ranges, { clickable = false, lr = null } = {}) {
    this.container.replaceChildren();
    this.views.clear();
    this.tables.clear();
    const entries = Object.entries(given);
    if (lr !== null) entries.push(["η", lr]);
    for (const [name, value] of entries) {
      const panel = document.createElement("figure");
      panel.className = "given";
      panel.dataset.tensor = name;
      const caption = document.createElement("figcaption");
      caption.innerHTML = `<span class="name"></span> <span class="role"></span>`;
      caption.querySelector(".name").textContent = name;
      caption.querySelector(".role").textContent = LABELS[name] || "";
      panel.append(caption);
      const heat = document.createElement("div");
      heat.className = "heat";
      panel.append(heat);
      this.container.append(panel);
      const range = ranges[name] || { min: -Math.abs(value) || -1, max: Math.abs(value) || 1, scale: "diverging" };
      const onClick = clickable && Array.isArray(value)
        ? (_, index) => this.onPick(index.reduce((v, i) => v[i], value)) : undefined;
      const view = new TensorView(heat, { name, cell: 34, onClick });
      view.render(value, range);
      this.views.set(name, view);
      if (Array.isArray(value)) panel.append(this.table(name, value, clickable));
    }
  }

  table(name, value, clickable) {
    const wrap = document.createElement("div");
    wrap.className = "values";
    const cells = new Map();
    for (const part of rows(value)) {
      const table = document.createElement("table");
      table.className = "grid values-grid";
      if (part.caption) {
        const cap = document.createElement("caption");
        cap.textContent = part.caption;
        table.append(cap);
      }
      const body = document.createElement("tbody");
      for (const row of part.cells) {
        const tr = document.createElement("tr");
        for (const [index, v] of row) {
          const td = document.createElement("td");
          const label = `${name}[${index.join(",")}] = ${full(v)}`;
          const el = document.createElement(clickable ? "button" : "span");
          if (clickable) {
            el.type = "button";
            el.setAttribute("aria-label", `Enter ${label} into the answer`);
            el.addEventListener("click", () => this.onPick(v));
          }
          el.className = "value";
          el.textContent = short(v);
          el.title = label;
          td.append(el);
          tr.append(td);
          cells.set(JSON.stringify(index), el);
        }
        body.append(tr);
      }
      table.append(body);
      wrap.append(table);
    }
    this.tables.set(name, cells);
    return wrap;
  }

  // Outline the cells that feed a wrong cell: {name: [index, ...]}.
  highlight(feeds) {
    for (const [name, view] of this.views) {
      const marks = (feeds[name] || []).map((index) => ({ index, kind: "source" }));
      if (view.signature) view.highlight(marks);
      const cells = this.tables.get(name);
      if (!cells) continue;
      const keys = new Set((feeds[name] || []).map((ix) => JSON.stringify(ix)));
      for (const [key, el] of cells) el.classList.toggle("feeds", keys.has(key));
    }
  }
}
