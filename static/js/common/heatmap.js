// One renderer for values and gradients alike: a tensor becomes one grid of cells per
// filter (or a card, for a single number), coloured on the range the server computed.
// Plain DOM, no plotting library: a cell is a <span> whose background is its colour and
// whose text is its value (black or white, whichever contrasts more), so drawing a panel
// is one innerHTML and highlighting a cell is one class.
//
// Beside the picture, the same values as a table (WCAG 1.1.1 and 1.3.1): one <table> per
// filter, its caption the tensor's name, a header cell for every row and column index, each
// value to four significant digits. It is visually hidden unless the view is asked to show
// it (`table: "shown"`) or an ancestor has the class `show-tables` (a page's "Table" toggle);
// the coloured grids are then hidden from assistive technology, which reads the table. Drawn
// and removed with the cells, it holds exactly what the view shows, nothing before its step.

import { colorOf, textOn } from "./colors.js";
import { cellText, full, short } from "./format.js";

const TEXT_LIMIT = 144; // cells beyond this are too small to print a value in

// Split a tensor into 2-D planes: [{prefix, z}] where prefix is the leading index.
export function planes(value, vertical = false) {
  if (!Array.isArray(value)) return [{ prefix: [], z: [[value]], scalar: true }];
  if (!Array.isArray(value[0])) {
    return [vertical
      ? { prefix: [], z: value.map((v) => [v]), vector: true, vertical: true }
      : { prefix: [], z: [value], vector: true }];
  }
  if (!Array.isArray(value[0][0])) return [{ prefix: [], z: value }];
  // a conv's (K, C, k, k) weights: one plane per filter and channel
  if (Array.isArray(value[0][0][0])) return value.flatMap((f, i) => f.map((z, c) => ({ prefix: [i, c], z })));
  return value.map((z, f) => ({ prefix: [f], z }));
}

// A plane's name: filter 0, or filter 0, channel 1.
export function planeName(prefix) {
  return prefix.length > 1 ? `filter ${prefix[0]}, channel ${prefix[1]}` : `filter ${prefix[0]}`;
}

// The full index of cell (row, col) of a plane, in the tensor's own shape.
function fullIndex(plane, row, col) {
  if (plane.scalar) return [];
  if (plane.vector) return [plane.vertical ? row : col];
  return [...plane.prefix, row, col];
}

// Where a tensor's index sits in its planes: [plane number, row, col], or null.
function locate(plots, index) {
  for (let p = 0; p < plots.length; p += 1) {
    const { plane } = plots[p];
    if (plane.vector) {
      const [i] = index;
      return plane.vertical ? [p, i, 0] : [p, 0, i];
    }
    if (plane.prefix.some((v, i) => index[i] !== v)) continue;
    const [row, col] = index.slice(plane.prefix.length);
    return [p, row, col];
  }
  return null;
}

const escape = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");

// One plane's values as a table: caption, a header row of column indices, a header cell
// of the row index on every row. `pick(index, value)`, when given, makes each value a button.
function valueTable(name, plane, many, pick, cells) {
  const table = document.createElement("table");
  table.className = "tensor-values";
  // the caption names the tensor (and its filter); where the table is on screen beside its
  // own title, the name is read, not shown again
  const caption = document.createElement("caption");
  const called = document.createElement("span");
  called.className = "tensor-name";
  called.textContent = many ? `${name}, ` : name;
  caption.append(called);
  if (many) caption.append(planeName(plane.prefix));
  table.append(caption);
  const header = (scope, what, i) => {
    const th = document.createElement("th");
    th.scope = scope;
    const hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = `${what} `;
    th.append(hidden, String(i));
    return th;
  };
  const rows = plane.z.length;
  const cols = plane.z[0].length;
  const rowHeads = !(plane.vector && !plane.vertical); // a row vector is one row of values
  const colHeads = !plane.vertical; // a column vector is one column of values
  if (colHeads) {
    const head = document.createElement("thead");
    const tr = document.createElement("tr");
    if (rowHeads) tr.append(document.createElement("td"));
    for (let c = 0; c < cols; c += 1) tr.append(header("col", plane.vector ? "index" : "column", c));
    head.append(tr);
    table.append(head);
  }
  const body = document.createElement("tbody");
  for (let r = 0; r < rows; r += 1) {
    const tr = document.createElement("tr");
    if (rowHeads) tr.append(header("row", plane.vector ? "index" : "row", r));
    for (let c = 0; c < cols; c += 1) {
      const v = plane.z[r][c];
      const index = fullIndex(plane, r, c);
      const td = document.createElement("td");
      const label = `${name}[${index.join(",")}]`;
      const value = document.createElement(pick ? "button" : "span");
      value.className = "value";
      value.textContent = short(v);
      value.title = `${label} = ${full(v)}`;
      if (pick) {
        value.type = "button";
        // the name starts with the text it shows, as a voice-control user says it
        value.setAttribute("aria-label", `${short(v)}, ${label}`);
        value.addEventListener("click", () => pick(index, v));
      }
      td.append(value);
      tr.append(td);
      cells.set(JSON.stringify(index), td);
    }
    body.append(tr);
  }
  table.append(body);
  return table;
}

export class TensorView {
  // table: "hidden" (visually hidden, read by assistive technology) or "shown" (on screen);
  // pick(index, value): the table's values are buttons that call it.
  constructor(container, { name, cell = 26, vertical = false, onHover, onLeave, onClick,
    table = "hidden", pick } = {}) {
    this.container = container;
    this.name = name;
    this.vertical = vertical; // draw a 1-D tensor as a column
    this.cell = cell;
    this.handlers = { onHover, onLeave, onClick };
    this.tableMode = table;
    this.pick = pick;
    this.tableBox = null; // the tables' box, while a grid is drawn
    this.tableCells = new Map(); // JSON of a full index -> its <td>
    this.plots = [];
    this.signature = "";
    this.marked = [];
    this.value = undefined;
    this.range = null;
  }

  // Draw (or redraw) the tensor. range = {min, max, scale}.
  render(value, range) {
    this.value = value;
    this.range = range;
    this.marked = [];
    const parts = planes(value, this.vertical);
    if (parts[0].scalar) {
      this.renderCard(value, range);
      return;
    }
    this.container.replaceChildren();
    this.signature = "grid";
    this.plots = parts.map((plane) => {
      const div = document.createElement("div");
      div.className = "plot";
      if (parts.length > 1) {
        const f = plane.prefix[0];
        div.dataset.filter = f;
        if (plane.prefix.length > 1) div.dataset.channel = plane.prefix[1];
        const caption = document.createElement("span");
        caption.className = "caption";
        const short = plane.prefix.length > 1 ? `f${f} c${plane.prefix[1]}` : `f${f}`;
        caption.textContent = plane.z[0].length * this.cell < 48 ? short : planeName(plane.prefix);
        div.append(caption);
      }
      const grid = document.createElement("div");
      grid.className = "grid";
      div.append(grid);
      this.draw(grid, plane, range);
      div.data = grid.data;
      div.setAttribute("aria-hidden", "true"); // the table below says the same in words
      this.container.append(div);
      return { div: grid, plane };
    });
    this.tableCells = new Map();
    this.tableBox = document.createElement("div");
    this.tableBox.className = `tensor-table ${this.tableMode === "shown" ? "shown" : "hidden"}`;
    for (const plane of parts) this.tableBox.append(valueTable(this.name, plane, parts.length > 1, this.pick, this.tableCells));
    this.container.append(this.tableBox);
  }

  // Remove every value: a panel whose step has not come holds nothing.
  clear() {
    this.container.replaceChildren();
    this.plots = [];
    this.signature = "";
    this.marked = [];
    this.value = undefined;
    this.tableBox = null;
    this.tableCells = new Map();
  }

  draw(div, plane, range) {
    const rows = plane.z.length;
    const cols = plane.z[0].length;
    const showText = rows * cols <= TEXT_LIMIT && this.cell >= 16;
    const size = this.cell;
    div.style.gridTemplateColumns = `repeat(${cols}, ${size}px)`;
    div.style.gridAutoRows = `${size}px`;
    const fontPx = Math.max(12, Math.min(14, Math.floor(size / 2.2)));
    div.style.fontSize = `${fontPx}px`;
    const room = size - 0.5; // the cell's width: a wider number would be cut
    div.classList.toggle("gapless", size < 4);
    let html = "";
    for (let r = 0; r < rows; r += 1) {
      for (let c = 0; c < cols; c += 1) {
        const v = plane.z[r][c];
        const finite = typeof v === "number" && Number.isFinite(v);
        const bg = finite ? colorOf(v, range) : "rgb(240, 240, 240)";
        const label = `${this.name}[${fullIndex(plane, r, c).join(",")}] = ${full(v)}`;
        html += `<span class="cell" data-r="${r}" data-c="${c}" title="${escape(label)}" ` +
          `style="background:${bg};color:${textOn(bg)}">${showText ? escape(cellText(v, room, fontPx)) : ""}</span>`;
      }
    }
    div.innerHTML = html;
    div.data = [{ z: plane.z }]; // the values drawn, where tests (and a console) read them
    div.addEventListener("mouseover", (event) => {
      const cell = event.target.closest(".cell");
      if (cell) this.emit("onHover", plane, cell);
    });
    div.addEventListener("mouseleave", () => this.handlers.onLeave && this.handlers.onLeave(this.name));
    div.addEventListener("click", (event) => {
      const cell = event.target.closest(".cell");
      if (cell) this.emit("onClick", plane, cell);
    });
  }

  emit(kind, plane, cell) {
    const handler = this.handlers[kind];
    if (handler) handler(this.name, fullIndex(plane, Number(cell.dataset.r), Number(cell.dataset.c)));
  }

  // Every cell's full index, plane by plane, row by row (for keyboard inspection).
  cells() {
    const out = [];
    for (const { plane } of this.plots) {
      plane.z.forEach((row, r) => row.forEach((_, c) => out.push(fullIndex(plane, r, c))));
    }
    return out;
  }

  // The width of a plane in cells (for keyboard inspection).
  width() {
    return this.plots.length ? this.plots[0].plane.z[0].length : 1;
  }

  renderCard(value, range) {
    this.container.replaceChildren();
    this.tableBox = null; // a single number is its own text: no table
    this.tableCells = new Map();
    const card = document.createElement("div");
    card.className = "card";
    this.container.append(card);
    this.plots = [];
    this.signature = "card";
    const numeric = typeof value === "number" && Number.isFinite(value);
    const bg = numeric ? colorOf(value, range) : "rgb(240, 240, 240)";
    card.style.background = bg;
    card.style.color = textOn(bg);
    // JSON has no infinity: the server sends null where a value overflows float64.
    card.textContent = value === null ? "overflow" : short(value);
    card.title = value === null ? `${this.name} is beyond float64 (about ±1.8e308)` : `${this.name} = ${full(value)}`;
    card.dataset.value = value === null ? "null" : String(value);
  }

  // Outline cells: [{index, kind}] where kind is "source" (thin) or "focus" (thick).
  highlight(marks) {
    for (const el of this.marked) el.classList.remove("source", "focus");
    this.marked = [];
    if (this.signature === "card") {
      this.container.firstChild.classList.toggle("marked", marks.length > 0);
      return;
    }
    for (const { index, kind } of marks) {
      const td = this.tableCells.get(JSON.stringify(index));
      if (td) {
        td.classList.add(kind === "focus" ? "focus" : "source");
        this.marked.push(td);
      }
      const at = locate(this.plots, index);
      if (!at) continue;
      const [p, row, col] = at;
      const { div, plane } = this.plots[p];
      const el = div.children[row * plane.z[0].length + col];
      if (!el) continue;
      el.classList.add(kind === "focus" ? "focus" : "source");
      this.marked.push(el);
    }
  }

  // Teaching marks drawn over the cells, or none: {pool: p, stride: s} outlines the p×p
  // pooling windows (s = p, the default: every window; s > p: each window apart; s < p, the
  // windows overlap: the first one only); first: n outlines the top-left n×n cells (a
  // conv's first window); winners: [index] marks cells that won their window; masked:
  // [index] hatches cells whose gradient ReLU blocks, leaky: [index] those a leaky ReLU
  // scales down. Replaces any marks drawn before.
  overlay({ pool = 0, stride = 0, first = 0, winners = [], masked = [], leaky = [] } = {}) {
    for (const { div } of this.plots) {
      for (const el of div.querySelectorAll(".wr, .wb, .winner, .masked, .leaky")) {
        el.classList.remove("wr", "wb", "winner", "masked", "leaky");
      }
    }
    const at = (index) => {
      const found = locate(this.plots, index);
      if (!found) return null;
      const [p, row, col] = found;
      const { div, plane } = this.plots[p];
      return div.children[row * plane.z[0].length + col] || null;
    };
    const step = stride || pool;
    if (pool > 0 && step === pool) {
      for (const { div, plane } of this.plots) {
        const cols = plane.z[0].length;
        const covered = Math.floor(cols / pool) * pool;
        [...div.children].forEach((el, i) => {
          const r = Math.floor(i / cols);
          const c = i % cols;
          if ((c + 1) % pool === 0 && c < covered - 1 && r < covered) el.classList.add("wr");
          if ((r + 1) % pool === 0 && r < covered - 1 && c < covered) el.classList.add("wb");
        });
      }
    } else if (pool > 0 && step > pool) {
      // windows apart: an edge before and after each one (cells between belong to none)
      for (const { div, plane } of this.plots) {
        const cols = plane.z[0].length;
        const count = Math.floor((cols - pool) / step) + 1;
        const inside = (v) => v % step < pool && Math.floor(v / step) < count;
        const edge = (v) => (v + 1) % step === 0 || (v % step === pool - 1);
        [...div.children].forEach((el, i) => {
          const r = Math.floor(i / cols);
          const c = i % cols;
          if (edge(c) && c < cols - 1 && (inside(c) || inside(c + 1)) && inside(r)) el.classList.add("wr");
          if (edge(r) && r < cols - 1 && (inside(r) || inside(r + 1)) && inside(c)) el.classList.add("wb");
        });
      }
    }
    const corner = first || (pool > 0 && step < pool ? pool : 0);
    if (corner > 0) {
      for (const { div, plane } of this.plots) {
        const cols = plane.z[0].length;
        [...div.children].forEach((el, i) => {
          const r = Math.floor(i / cols);
          const c = i % cols;
          if (c === corner - 1 && r < corner && c < cols - 1) el.classList.add("wr");
          if (r === corner - 1 && c < corner && r < plane.z.length - 1) el.classList.add("wb");
        });
      }
    }
    for (const index of winners) at(index)?.classList.add("winner");
    for (const index of masked) at(index)?.classList.add("masked");
    for (const index of leaky) at(index)?.classList.add("leaky");
  }

  // A picture of the tensor for lecture notes, drawn at twice the screen's resolution: a
  // title (its name and, if given, what it is), each filter's cells with their values, and
  // a legend of the colour scale with its two ends. A single number is one large cell.
  async png(filename, subtitle = "") {
    if (this.value === undefined) return;
    const parts = planes(this.value, this.vertical);
    const scale = 2;
    const cell = 56;
    const pad = 18;
    const titleH = subtitle ? 52 : 34;
    const legendH = 44;
    const gap = 14;
    const widths = parts.map((p) => p.z[0].length * cell);
    const captions = parts.length > 1 ? 20 : 0;
    const gridH = Math.max(...parts.map((p) => p.z.length)) * cell + captions;
    const family = getComputedStyle(document.documentElement).fontFamily || "sans-serif";
    const ruler = document.createElement("canvas").getContext("2d");
    ruler.font = `15px ${family}`;
    const titleW = Math.ceil(ruler.measureText(subtitle).width) + 2 * pad; // never cut off
    const width = Math.max(260, titleW, widths.reduce((a, b) => a + b + gap, 2 * pad - gap));
    const height = pad + titleH + gridH + gap + legendH + pad;
    const canvas = document.createElement("canvas");
    canvas.width = width * scale;
    canvas.height = height * scale;
    const ctx = canvas.getContext("2d");
    ctx.scale(scale, scale);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, width, height);
    ctx.fillStyle = "#111827";
    ctx.textBaseline = "alphabetic";
    ctx.font = `bold 22px ${family}`;
    ctx.fillText(this.name, pad, pad + 20);
    if (subtitle) {
      ctx.font = `15px ${family}`;
      ctx.fillStyle = "#4b5563";
      ctx.fillText(subtitle, pad, pad + 42);
    }
    const top = pad + titleH;
    const fontPx = 16;
    let x0 = pad;
    parts.forEach((plane, i) => {
      if (captions) {
        ctx.font = `14px ${family}`;
        ctx.fillStyle = "#4b5563";
        ctx.textAlign = "left";
        ctx.fillText(planeName(plane.prefix), x0, top + 14);
      }
      ctx.font = `${fontPx}px ${family}`;
      ctx.textAlign = "center";
      ctx.textBaseline = "middle";
      plane.z.forEach((row, r) => row.forEach((v, c) => {
        const bg = Number.isFinite(v) ? colorOf(v, this.range) : "rgb(240, 240, 240)";
        const y = top + captions + r * cell;
        ctx.fillStyle = bg;
        ctx.fillRect(x0 + c * cell, y, cell - 1, cell - 1);
        ctx.fillStyle = textOn(bg);
        ctx.fillText(cellText(v, cell - 6, fontPx), x0 + c * cell + cell / 2, y + cell / 2);
      }));
      ctx.textBaseline = "alphabetic";
      x0 += widths[i] + gap;
    });
    // The legend: the scale from its lowest to its highest value, both ends written.
    const ly = top + gridH + gap;
    const barW = Math.min(220, width - 2 * pad);
    const gradient = ctx.createLinearGradient(pad, 0, pad + barW, 0);
    for (let k = 0; k <= 10; k += 1) {
      const v = this.range.min + ((this.range.max - this.range.min) * k) / 10;
      gradient.addColorStop(k / 10, colorOf(v, this.range));
    }
    ctx.fillStyle = gradient;
    ctx.fillRect(pad, ly, barW, 14);
    ctx.strokeStyle = "#d1d5db";
    ctx.strokeRect(pad, ly, barW, 14);
    ctx.fillStyle = "#111827";
    ctx.font = `14px ${family}`;
    ctx.textAlign = "left";
    ctx.fillText(short(this.range.min), pad, ly + 32);
    ctx.textAlign = "right";
    ctx.fillText(short(this.range.max), pad + barW, ly + 32);
    const a = document.createElement("a");
    a.href = canvas.toDataURL("image/png");
    a.download = `${filename}.png`;
    document.body.append(a);
    a.click();
    a.remove();
  }
}
