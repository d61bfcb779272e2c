// The tensor grid: one panel per tensor, each gradient under its tensor. A panel whose step
// has not come holds no value at all (no cells, no title with a number) and is inert, so
// it is neither focusable nor in the accessibility tree; it shows a striped "?".

import { TensorView } from "../common/heatmap.js";

// Layout only: which tensor sits in which column of the forward and backward rows.
const COLUMNS = [
  { forward: ["X", "Y"], backward: ["dX"] },
  { forward: ["W1", "b1"], backward: ["dW1", "db1"] },
  { forward: ["Z1"], backward: ["dZ1"] },
  { forward: ["A1"], backward: ["dA1"] },
  { forward: ["P1"], backward: ["dP1"] },
  { forward: ["F"], backward: ["dF"] },
  { forward: ["W2", "b2"], backward: ["dW2", "db2"] },
  { forward: ["Z2", "A2", "L"], backward: ["dZ2", "dA2"] },
];
const TWO_UP = new Set(["W1", "Z1", "A1", "P1", "dW1", "dZ1", "dA1", "dP1"]);

function cellSize(grid, cfg) {
  const width = Math.max(300, grid.clientWidth - 16);
  const k = cfg.kernel_size;
  const m = cfg.input_size - k + 1;
  const q = Math.floor(m / cfg.pool_size);
  const wide = cfg.filters > 3 ? 2 : 1; // filters side by side, two per row
  const vectors = 1 + Math.min(cfg.filters * q * q, 6); // F drawn as a column, W2 as a row
  const cells = cfg.input_size + wide * (k + 2 * m + q) + vectors;
  const fixed = 110 + COLUMNS.length * 26 + 30; // scalar column, gaps and borders, padding
  // On a narrow screen the rows scroll sideways: cells stay big enough to read.
  // Below 1100 px (a tablet, a phone) the rows wrap instead, so cells keep room for a number.
  const floor = window.innerWidth < 1100 ? Math.min(26, Math.floor(340 / cfg.input_size)) : 3;
  return Math.max(floor, Math.min(40, Math.floor((width - fixed) / cells)));
}

// The cell that wins each p×p pooling window of a (K, m, m) tensor: the first maximum in
// row-major order, as the engine routes the gradient.
export function poolWinners(A, p) {
  const out = [];
  A.forEach((plane, f) => {
    const q = Math.floor(plane.length / p);
    for (let i = 0; i < q; i += 1) {
      for (let j = 0; j < q; j += 1) {
        let best = null;
        for (let r = i * p; r < i * p + p; r += 1) {
          for (let c = j * p; c < j * p + p; c += 1) {
            if (best === null || plane[r][c] > plane[best[1]][best[2]]) best = [f, r, c];
          }
        }
        out.push(best);
      }
    }
  });
  return out;
}

// The cells whose gradient ReLU blocks: Z1 <= 0.
export function reluBlocked(Z) {
  const out = [];
  Z.forEach((plane, f) => plane.forEach((row, r) => row.forEach((v, c) => { if (!(v > 0)) out.push([f, r, c]); })));
  return out;
}

const scalarOf = (value) => (Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value);

const CARD = { width: 90, height: 36 }; // a single number's card (convlens.css .panel .card)

// The room a tensor's cells take, kept by its empty panel so revealing it moves nothing.
function space(shape, cell, name, body) {
  const dims = shape || [];
  if (dims.length === 0 || (dims.length === 1 && dims[0] === 1)) return CARD;
  const gap = cell >= 4 ? 1 : 0;
  const side = (n) => n * cell + (n - 1) * gap;
  if (dims.length === 1) {
    return ["F", "dF"].includes(name) ? { width: cell, height: side(dims[0]) } : { width: side(dims[0]), height: cell };
  }
  if (dims.length === 2) return { width: side(dims[1]), height: side(dims[0]) };
  const [K, rows, cols] = dims;
  const across = body.classList.contains("two-up") ? 2 : 1;
  const caption = K > 1 ? 14 : 0;
  const down = Math.ceil(K / across);
  return { width: across * side(cols) + (across - 1) * 6, height: down * (side(rows) + caption) + (down - 1) * 4 };
}

export function createPanels({ meta, onHover, onLeave, onClick, onKey, onPng }) {
  const titles = Object.fromEntries(meta.tensors.map((t) => [t.name, t.title]));
  const views = new Map(); // tensor name -> {view, panel}
  const drawn = new Map(); // tensor name -> the value object drawn

  function build(cfg) {
    const forwardRow = document.getElementById("row-forward");
    const backwardRow = document.getElementById("row-backward");
    const cell = cellSize(forwardRow.parentElement, cfg);
    const D = cfg.filters * Math.floor((cfg.input_size - cfg.kernel_size + 1) / cfg.pool_size) ** 2;
    // Vectors get at most the length of X (F, a column) or of six cells (W2, b1, rows).
    const sizeOf = (name) => {
      if (["F", "dF"].includes(name)) return Math.min(cell, (cfg.input_size * cell) / D);
      if (["W2", "dW2"].includes(name)) return Math.min(cell, Math.max(6 * cell, 60) / D);
      if (["b1", "db1"].includes(name) && cfg.filters > 1) return Math.min(cell, (3 * cell) / cfg.filters);
      return cell;
    };
    views.clear();
    drawn.clear();
    for (const [container, key] of [[forwardRow, "forward"], [backwardRow, "backward"]]) {
      container.replaceChildren();
      COLUMNS.forEach((column, i) => {
        const stack = document.createElement("div");
        stack.className = "stack";
        stack.style.gridColumn = String(i + 1);
        for (const name of column[key]) {
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
          if (cfg.filters > 3 && TWO_UP.has(name)) body.classList.add("two-up");
          const view = new TensorView(body, {
            name, cell: sizeOf(name), vertical: ["F", "dF"].includes(name), onHover, onLeave, onClick,
          });
          views.set(name, { view, panel, space: space(cfg.shapes[name], sizeOf(name), name, body) });
          stack.append(panel);
        }
        container.append(stack);
      });
    }
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
          body.style.width = `${room.width}px`;
          body.style.height = `${room.height}px`;
        }
      } else if (drawn.get(name) !== value) {
        const flat = scalarOf(value);
        body.style.width = "";
        body.style.height = "";
        view.render(flat, walk.ranges[name]); // the server's range (a card's yardstick too)
        drawn.set(name, value);
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

  // The seed's key ideas drawn without hovering: the pooling windows on A1 and their
  // winners at the P1 and dA1 steps, the ReLU mask over dZ1 at its step.
  function teach(walk) {
    const at = walk.step ? walk.step.writes : null;
    const p = walk.config.pool_size;
    const t = walk.tensors;
    const marks = {
      A1: (at === "P1" || at === "dA1") && t.A1 ? { pool: p, winners: poolWinners(t.A1, p) } : {},
      dA1: at === "dA1" && t.A1 ? { pool: p, winners: poolWinners(t.A1, p) } : {},
      dZ1: at === "dZ1" && t.Z1 ? { masked: reluBlocked(t.Z1) } : {},
    };
    for (const [name, options] of Object.entries(marks)) {
      const entry = views.get(name);
      if (entry && t[name] !== undefined) entry.view.overlay(options);
    }
  }

  return {
    build, render: (walk) => { render(walk); teach(walk); },
    view: (name) => (views.get(name) ? views.get(name).view : null),
    names: () => [...views.keys()],
  };
}
