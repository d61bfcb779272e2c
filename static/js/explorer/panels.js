// The tensor grid: one panel per tensor, each gradient under its tensor. A panel whose step
// has not come holds no value at all (no cells, no title with a number) and is inert, so
// it is neither focusable nor in the accessibility tree; it shows a striped "?".
//
// The layout comes from the network the server sends (network.nodes): the input and the
// label, then per layer its parameters and the tensor it writes, the output's prediction
// and loss beside the last dense layer's Z. A network too wide for one pair of rows (at
// readable cells) is laid out in bands, each a forward row over its backward row.

import { TensorView } from "../common/heatmap.js";

const d = (name) => `d${name}`;

// Every tensor a step of the walk shows (what it writes and what it computes beside it).
function revealedBy(steps) {
  const out = new Set();
  for (const s of steps || []) {
    for (const name of s.reveals || []) out.add(name);
    for (const a of s.also || []) out.add(a.writes);
  }
  return out;
}

// Layout only: which tensor sits in which column of the forward and backward rows.
// The seed's network gives [X Y | W1 b1 | Z1 | A1 | P1 | F | W2 b2 | Z2 A2 L] over
// [dX | dW1 db1 | dZ1 | dA1 | dP1 | dF | dW2 db2 | dZ2 dA2].
export function networkColumns(network, steps) {
  const shown = revealedBy(steps);
  const given = new Set(["X", "Y", ...network.params]);
  const has = (name) => given.has(name) || shown.has(name);
  const nodes = network.nodes;
  const output = nodes[nodes.length - 1];
  const layers = nodes.slice(0, -1);
  const lastWeighted = [...layers].reverse().find((n) => n.params.length);
  const columns = [{ forward: ["X", "Y"], backward: ["dX"] }];
  for (const node of layers) {
    if (node.params.length) columns.push({ forward: [...node.params], backward: node.params.map(d) });
    if (node === lastWeighted) {
      columns.push({ forward: [node.writes, output.writes, "L"], backward: [d(node.writes), d(output.writes)] });
    } else {
      columns.push({ forward: [node.writes], backward: [d(node.writes)] });
    }
  }
  return columns.map((c) => ({ forward: c.forward.filter(has), backward: c.backward.filter(has) }));
}

// What each tensor is, for the panels' titles and how they are drawn.
function describeTensors(network) {
  const info = new Map(); // name -> {node, role: "W" | "b" | "out"}
  for (const node of network.nodes) {
    node.params.forEach((p) => info.set(p, { node, role: p.startsWith("W") ? "W" : "b" }));
    info.set(node.writes, { node, role: "out" });
  }
  return info;
}

const scalarShape = (shape) => !shape || shape.length === 0 || (shape.length === 1 && shape[0] === 1);
const twoUp = (shape) => !!shape && shape.length === 3 && shape[0] > 3; // filters two per row

// How a tensor is drawn: "flat" (F, a column), "denseW" (capped at six cells' width),
// "bias" (at most three cells), "vector" (at most six), or "grid".
function drawKind(name, info) {
  const base = name.startsWith("d") ? name.slice(1) : name;
  if (base === "F") return "flat";
  const it = info.get(base);
  if (it && it.role === "W" && it.node.type === "dense") return "denseW";
  if (it && it.role === "b") return "bias";
  return "vector"; // (only used for 1-D tensors)
}

// A tensor's width in cells (a card counts none).
function cellsWide(shape, kind) {
  if (scalarShape(shape)) return 0;
  if (kind === "flat") return 1;
  if (shape.length === 1) return Math.min(shape[0], kind === "bias" ? 3 : 6);
  if (shape.length === 2) return kind === "denseW" ? Math.min(shape[1], 6) : shape[1];
  if (shape.length === 3) return (twoUp(shape) ? 2 : 1) * shape[2];
  return shape[1] * shape[3]; // (K, C, k, k): C grids across
}

const columnCells = (column, shapes, info) => Math.max(0, ...column.forward.map((n) => cellsWide(shapes[n], drawKind(n, info))));
const columnCard = (column, shapes) => column.forward.some((n) => scalarShape(shapes[n]));

// The seed's rule, on the network's shapes: the width left by the columns' fixed room,
// shared by the cells of the widest tensor of each column.
function cellSize(width, columns, shapes, info, inputSize) {
  const cells = columns.reduce((sum, c) => sum + columnCells(c, shapes, info), 0);
  const fixed = 110 + columns.length * 26 + 30; // scalar column, gaps and borders, padding
  // Below 1100 px (a tablet, a phone) the rows wrap, so cells keep room for a number.
  const floor = window.innerWidth < 1100 ? Math.min(26, Math.floor(340 / inputSize)) : 3;
  return Math.max(floor, Math.min(40, Math.floor((width - fixed) / Math.max(1, cells))));
}

const READABLE = 20; // a cell this wide prints its number
// Columns in bands (consecutive columns, each band a forward row over a backward row) so
// that every band fits the width with cells as large as they can be; one band where one
// gives readable cells (the seed's networks always keep one).
function bands(width, columns, shapes, info, inputSize, allowBands) {
  const one = cellSize(width, columns, shapes, info, inputSize);
  if (!allowBands || one >= READABLE || window.innerWidth < 1100) return { groups: [columns], cell: one };
  const fits = (group, cell) => group.reduce((w, c) => w + Math.max(columnCells(c, shapes, info) * (cell + 1),
    columnCard(c, shapes) ? 94 : 0) + 26, 30) <= width;
  let best = { groups: [columns], cell: one };
  for (let count = 2; count <= 4 && best.cell < READABLE; count += 1) {
    const total = columns.reduce((sum, c) => sum + columnCells(c, shapes, info) + (columnCard(c, shapes) ? 4 : 0) + 2, 0);
    const target = total / count;
    const groups = [[]];
    let used = 0;
    for (const c of columns) {
      const w = columnCells(c, shapes, info) + (columnCard(c, shapes) ? 4 : 0) + 2;
      if (used > 0 && used + w / 2 > target && groups.length < count) {
        groups.push([]);
        used = 0;
      }
      groups[groups.length - 1].push(c);
      used += w;
    }
    let cell = 40;
    while (cell > 3 && !groups.every((g) => fits(g, cell))) cell -= 1;
    if (cell > best.cell) best = { groups, cell };
  }
  return best;
}

// The marks a layer draws over a tensor (the server's `marks`), at the steps that use them:
// over a layer's input at that layer's step, over a gradient at its own step.
export function marksShown(name, step, nodes) {
  if (!step || step.phase === "update") return false;
  const gradient = name.startsWith("d");
  if (step.writes === (gradient ? name : d(name))) return true;
  if (gradient) return false;
  const consumer = nodes.find((n) => n.reads === name);
  return !!consumer && step.writes === consumer.writes;
}

// The server's nested booleans as the list of cells that are true.
function trueCells(nested, prefix = [], out = []) {
  if (!Array.isArray(nested)) {
    if (nested) out.push(prefix);
    return out;
  }
  nested.forEach((v, i) => trueCells(v, [...prefix, i], out));
  return out;
}

// The winners, nested per output cell (K, q, q, [f, r, c]), as a list of cells.
function cellsOf(nested, out = []) {
  if (Array.isArray(nested) && nested.length && !Array.isArray(nested[0])) out.push(nested);
  else if (Array.isArray(nested)) nested.forEach((v) => cellsOf(v, out));
  return out;
}

function overlayOf(m) {
  const options = {};
  if (m.pool) {
    options.pool = m.pool;
    options.stride = m.stride || m.pool;
  }
  if (m.kernel) options.first = Math.max(1, m.kernel - (m.padding || 0)); // the first window of the conv
  if (m.winners) options.winners = cellsOf(m.winners);
  if (m.masked) options.masked = trueCells(m.masked);
  if (m.leaky) options.leaky = trueCells(m.leaky);
  return options;
}

const scalarOf = (value) => (Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value);

const CARD = { width: 90, height: 36 }; // a single number's card (convlens.css .panel .card)

// The room a tensor's cells take, kept by its empty panel so revealing it moves nothing.
function space(shape, cell, vertical, body) {
  const dims = shape || [];
  if (dims.length === 0 || (dims.length === 1 && dims[0] === 1)) return CARD;
  const gap = cell >= 4 ? 1 : 0;
  const side = (n) => n * cell + (n - 1) * gap;
  if (dims.length === 1) return vertical ? { width: cell, height: side(dims[0]) } : { width: side(dims[0]), height: cell };
  if (dims.length === 2) return { width: side(dims[1]), height: side(dims[0]) };
  // a plot is as wide as its grid or its caption ("filter 0" or "f0", heatmap.js's rule)
  const plot = (cols, long, short) => Math.max(side(cols), cols * cell < 48 ? short : long);
  if (dims.length === 4) { // (K, C, k, k): K rows of C grids, each captioned
    const [K, C, rows, cols] = dims;
    return { width: C * plot(cols, 118, 36) + (C - 1) * 6, height: K * (side(rows) + 14) + (K - 1) * 4 };
  }
  const [K, rows, cols] = dims;
  const across = body.classList.contains("two-up") ? 2 : 1;
  const caption = K > 1 ? 14 : 0;
  const down = Math.ceil(K / across);
  const wide = K > 1 ? plot(cols, 50, 16) : side(cols);
  return { width: across * wide + (across - 1) * 6, height: down * (side(rows) + caption) + (down - 1) * 4 };
}

// Titles of a network that is not the seed's: from the layer kinds the server names.
function titlesOf(network, meta) {
  const kinds = Object.fromEntries((meta.kinds || []).map((k) => [k.type, k.title]));
  const out = { X: "input", Y: "label", L: "loss", dX: "saliency" };
  for (const node of network.nodes) {
    const [W, b] = node.params;
    if (W) out[W] = node.type === "conv" ? "filter" : "dense weights";
    if (b) out[b] = node.type === "conv" ? "conv bias" : "dense bias";
    out[node.writes] = kinds[node.type] || node.type;
  }
  for (const name of Object.keys(network.shapes)) if (name.startsWith("d") && !out[name]) out[name] = `∂L/∂${name.slice(1)}`;
  return out;
}

export function createPanels({ meta, onHover, onLeave, onClick, onKey, onPng }) {
  const seedTitles = Object.fromEntries(meta.tensors.map((t) => [t.name, t.title]));
  let titles = seedTitles;
  let nodes = [];
  const views = new Map(); // tensor name -> {view, panel}
  const drawn = new Map(); // tensor name -> the value object drawn
  const overlaid = new Set(); // tensor names with teaching marks drawn

  // Lay the panels out for the walk's network (the server's nodes and shapes).
  function build(walk) {
    const network = walk.network;
    const shapes = network.shapes;
    nodes = network.nodes;
    titles = walk.config ? seedTitles : titlesOf(network, meta);
    const info = describeTensors(network);
    const columns = networkColumns(network, walk.steps);
    const forwardRow = document.getElementById("row-forward");
    const backwardRow = document.getElementById("row-backward");
    const box = forwardRow.parentElement;
    const width = Math.max(300, box.clientWidth - 16);
    const plan = bands(width, columns, shapes, info, network.input.size, !walk.config);
    layout(plan.groups, plan.cell, shapes, info, n(network), forwardRow, backwardRow, box);
    // A network not the seed's: what the estimate missed (a long title, a wide caption)
    // is measured, and the cells shrink until every row fits its box.
    if (!walk.config && window.innerWidth >= 1100) {
      let cell = plan.cell;
      const over = () => [...box.querySelectorAll(".row")].some((row) => row.scrollWidth > row.clientWidth + 1);
      while (cell > 8 && over()) {
        cell -= 2;
        layout(plan.groups, cell, shapes, info, n(network), forwardRow, backwardRow, box);
      }
    }
  }

  const n = (network) => network.input.size;

  function layout(groups, cell, shapes, info, inputSize, forwardRow, backwardRow, box) {
    const sizeOf = (name) => {
      const shape = shapes[name] || [];
      const kind = drawKind(name, info);
      if (kind === "flat") return Math.min(cell, (inputSize * cell) / shape[0]);
      if (kind === "denseW") return Math.min(cell, Math.max(6 * cell, 60) / shape[1]);
      if (shape.length === 1 && shape[0] > 1) {
        return kind === "bias" ? Math.min(cell, (3 * cell) / shape[0]) : Math.min(cell, Math.max(6 * cell, 60) / shape[0]);
      }
      return cell;
    };
    views.clear();
    drawn.clear();
    overlaid.clear();
    for (const extra of box.querySelectorAll(".row.band")) extra.remove();
    const legend = box.querySelector(".legend");
    groups.forEach((group, b) => {
      const rows = b === 0 ? [forwardRow, backwardRow] : ["forward", "backward"].map((key) => {
        const row = document.createElement("div");
        row.className = `row ${key} band`;
        box.insertBefore(row, legend);
        return row;
      });
      for (const [container, key] of [[rows[0], "forward"], [rows[1], "backward"]]) {
        container.replaceChildren();
        container.style.gridTemplateColumns = `repeat(${group.length}, auto)`;
        group.forEach((column, i) => {
          const stack = document.createElement("div");
          stack.className = "stack";
          stack.style.gridColumn = String(i + 1);
          for (const name of column[key]) stack.append(makePanel(name, shapes[name], sizeOf(name)));
          container.append(stack);
        });
      }
    });
  }

  function makePanel(name, shape, size) {
    const panel = document.createElement("section");
    panel.className = "panel";
    panel.dataset.tensor = name;
    panel.innerHTML = `<header><span class="name"></span><span class="role"></span>
      <button type="button" class="png">PNG</button></header>
      <div class="body"></div><div class="veil" aria-hidden="true">?</div>`;
    panel.querySelector(".name").textContent = name;
    panel.querySelector(".role").textContent = titles[name] || "";
    const png = panel.querySelector(".png");
    png.setAttribute("aria-label", `Download ${name} as PNG`);
    png.title = "Download as PNG";
    png.addEventListener("click", (event) => {
      event.stopPropagation();
      onPng(name);
    });
    panel.addEventListener("keydown", (event) => onKey(event, name));
    const body = panel.querySelector(".body");
    if (twoUp(shape)) body.classList.add("two-up");
    if (shape && shape.length === 4) {
      body.classList.add("channels");
      body.style.gridTemplateColumns = `repeat(${shape[1]}, auto)`;
    }
    const vertical = ["F", "dF"].includes(name);
    const view = new TensorView(body, { name, cell: size, vertical, onHover, onLeave, onClick });
    const room = space(shape, size, vertical, body);
    views.set(name, { view, panel, space: room });
    // the room its cells will take, from the start (the layout is measured before drawing)
    body.style.width = `${room.width}px`;
    body.style.height = `${room.height}px`;
    return panel;
  }

  // Draw what the walk has shown; empty and inert every panel it has not.
  function render(walk) {
    const step = walk.step;
    for (const [name, { view, panel, space: room }] of views) {
      const value = walk.tensors[name];
      const shown = value !== undefined;
      const body = view.container;
      if (!shown) {
        if (drawn.has(name) || !panel.classList.contains("pending")) {
          view.clear();
          drawn.delete(name);
          overlaid.delete(name);
          body.style.width = `${room.width}px`;
          body.style.height = `${room.height}px`;
        }
      } else if (drawn.get(name) !== value) {
        const flat = scalarOf(value);
        body.style.width = "";
        body.style.height = "";
        view.render(flat, walk.ranges[name]); // the server's range (a card's yardstick too)
        drawn.set(name, value);
        overlaid.delete(name);
      }
      const step_ = step && step.writes;
      const state = `${shown}|${!!step && step_ === name && step.phase !== "update"}|${!!step && step.reads.includes(name)}`;
      if (panel.dataset.state === state) continue; // touch the DOM only where something changed
      panel.dataset.state = state;
      panel.classList.toggle("pending", !shown);
      panel.inert = !shown;
      if (shown) {
        panel.tabIndex = 0;
        panel.setAttribute("aria-label", `${name}, ${titles[name] || ""}: arrow keys inspect its cells, Enter pins one`);
      } else {
        panel.removeAttribute("tabindex");
        panel.setAttribute("aria-label", `${name}: not computed yet`);
      }
      panel.classList.toggle("current", !!step && step_ === name && step.phase !== "update");
      panel.classList.toggle("reads", !!step && step.reads.includes(name));
    }
  }

  // What each layer kind draws without hovering, as the server sends it (`marks`): the
  // pooling windows and their winners over a pool's input at the pool's steps, the ReLU
  // mask over dZ at its step, a conv's first window over its input at its step.
  function teach(walk) {
    const marks = walk.marks || {};
    for (const [name, { view }] of views) {
      if (walk.tensors[name] === undefined) continue;
      const m = marks[name];
      if (m && marksShown(name, walk.step, nodes)) {
        view.overlay(overlayOf(m));
        overlaid.add(name);
      } else if (overlaid.has(name)) {
        view.overlay({});
        overlaid.delete(name);
      }
    }
  }

  return {
    build, render: (walk) => { render(walk); teach(walk); },
    view: (name) => (views.get(name) ? views.get(name).view : null),
    title: (name) => titles[name] || "",
    names: () => [...views.keys()],
  };
}
