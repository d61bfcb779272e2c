// Drawing the room's answers: bars for options and numbers, a heatmap of taps over the
// tensor, % right and the most frequent misconceptions for a grid. Shared by the
// presenter's live view and the audience's reveal. Text only: never innerHTML.

import { short } from "../common/format.js";

export const formatNumber = short;

export function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text) node.textContent = text;
  return node;
}

function bar(label, count, total, right) {
  const row = el("div", { class: "tally-bar", "data-right": String(Boolean(right)) });
  const share = total ? Math.round((100 * count) / total) : 0;
  const fill = el("span", { class: "tally-fill" });
  fill.style.width = `${share}%`;
  row.append(
    el("span", { class: "tally-label" }, `${right ? "✓ " : ""}${label}`),
    el("span", { class: "tally-track" }),
    el("span", { class: "tally-count" }, `${count} (${share}%)`),
  );
  row.children[1].append(fill);
  return row;
}

// A tensor's cells as grids: one per leading index (a filter; a filter and channel), its last
// two axes the rows and columns (a vector is one row, a number one cell): [{prefix, rows, cols,
// index(r, c)}], index giving a cell's full index in the tensor's shape.
export function cellGrids(shape) {
  const rows = shape.length >= 2 ? shape.at(-2) : 1;
  const cols = shape.length >= 1 ? shape.at(-1) : 1;
  let prefixes = [[]];
  for (const n of shape.slice(0, -2)) {
    prefixes = prefixes.flatMap((p) => Array.from({ length: n }, (_, i) => [...p, i]));
  }
  const full = (prefix, r, c) => (shape.length >= 2 ? [...prefix, r, c] : shape.length === 1 ? [c] : []);
  return prefixes.map((prefix) => ({ prefix, rows, cols, index: (r, c) => full(prefix, r, c) }));
}

// The value of nested lists at a full index.
export const valueAt = (value, index) => index.reduce((v, i) => v[i], value);

const cellKey = (cell) => cell.join(",");

// A round's time as a clock reads it: 83 -> "1:23".
export function clockText(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

// `answer`: the right answer, marked on the drawing (only once it is revealed). `title`: the
// drawing's name ("Round 1" of a two-round question); `mine`: a phone's own cells, marked on
// the heatmap of taps.
export function drawDistribution(q, d, answer, { title = "", mine = null } = {}) {
  const box = el("div", { class: "tally", "data-kind": q.kind, role: "group",
    "aria-label": title ? `The room's answers, ${title.toLowerCase()}` : "The room's answers" });
  if (title) box.append(el("p", { class: "tally-round" }, title));
  const shown = answer !== undefined && answer !== null;
  // The share right: for a grid always (the presenter watches it build up), else at the reveal.
  const summary = `${d.answered} answered${shown || q.kind === "grid" ? ` · ${d.right} right (${d.answered ? Math.round((100 * d.right) / d.answered) : 0}%)` : ""}`;
  box.append(el("p", { class: "tally-summary" }, summary));
  if (q.kind === "choice") {
    q.options.forEach((text, i) => box.append(bar(text, d.counts[i], d.answered, shown && answer === i)));
  } else if (q.kind === "number") {
    for (const b of d.bars) box.append(bar(short(b.value), b.count, d.answered, false));
    if (d.other) box.append(bar("other", d.other, d.answered, false));
  } else if (q.kind === "cells") {
    const right = new Set(shown ? answer.map(cellKey) : []);
    const own = new Set(Array.isArray(mine) ? mine.map(cellKey) : []);
    const most = Math.max(1, ...[d.taps].flat(4));
    box.append(el("p", { class: "tally-legend" },
      `How many tapped each cell of ${q.tensor}${shown ? "; outlined: the right cells" : ""}`));
    if (own.size) box.append(el("p", { class: "tally-key" }, "● your taps"));
    for (const { prefix, rows, cols, index } of cellGrids(q.shape)) {
      const which = prefix.length ? ` [${prefix.join(",")}]` : "";
      const grid = el("div", { class: "tally-taps", role: "table", "aria-label": `Taps on ${q.tensor}${which}` });
      grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
      for (let r = 0; r < rows; r += 1) {
        // a row of the table (its box leaves the cells to the grid: display: contents)
        const line = el("div", { class: "tally-row", role: "row" });
        for (let c = 0; c < cols; c += 1) {
          const cell = index(r, c);
          const n = valueAt(d.taps, cell);
          const isRight = right.has(cellKey(cell));
          const isMine = own.has(cellKey(cell));
          const node = el("span", { class: "tally-tap", role: "cell", "data-right": String(isRight),
            "data-mine": String(isMine),
            title: `${q.tensor}[${cell.join(",")}]: ${n} taps${isRight ? ", ✓ right cell" : ""}${isMine ? ", your tap" : ""}` }, String(n));
          // the marks are seen (a corner sign) and read (the words, out of sight)
          if (isRight) node.append(el("span", { class: "tally-mark", "aria-hidden": "true" }, "✓"),
            el("span", { class: "visually-hidden" }, " ✓ right cell"));
          if (isMine) node.append(el("span", { class: "tally-own", "aria-hidden": "true" }, "●"),
            el("span", { class: "visually-hidden" }, " · your tap"));
          node.style.setProperty("--share", String(n / most));
          line.append(node);
        }
        grid.append(line);
      }
      box.append(grid);
    }
  } else {
    box.append(el("p", { class: "tally-score" }, `Average: ${Math.round((d.score || 0) * 100)}% of the cells right`));
    if (d.misconceptions.length) {
      const list = el("ul", { class: "tally-misconceptions", "aria-label": "Most frequent misconceptions" });
      for (const m of d.misconceptions) list.append(el("li", {}, `${m.title}: ${m.count}`));
      box.append(list);
    } else {
      box.append(el("p", { class: "tally-score" }, "No known misconception so far"));
    }
    if (shown && d.cells_right) box.append(rightOverlay(q, d, answer));
  }
  return box;
}

// A grid's reveal: the right answer, cell by cell, with how many had each cell right.
function rightOverlay(q, d, answer) {
  const wrap = el("div", { class: "tally-overlay" });
  wrap.append(el("p", { class: "tally-overlay-legend" }, `The right ${q.step}, and how many of the ${d.answered} had each cell right`));
  for (const { prefix, rows, cols, index } of cellGrids(q.shape)) {
    const which = prefix.length ? ` [${prefix.join(",")}]` : "";
    const grid = el("div", { class: "tally-taps tally-right-cells", role: "table", "aria-label": `Right answers per cell of ${q.step}${which}` });
    grid.style.gridTemplateColumns = `repeat(${cols}, 1fr)`;
    for (let r = 0; r < rows; r += 1) {
      const line = el("div", { class: "tally-row", role: "row" });
      for (let c = 0; c < cols; c += 1) {
        const cell = index(r, c);
        const n = valueAt(d.cells_right, cell);
        const node = el("span", { class: "tally-tap tally-right-cell", role: "cell",
          title: `${q.step}[${cell.join(",")}] = ${short(valueAt(answer, cell))}: ${n} of ${d.answered} right` },
        short(valueAt(answer, cell)));
        node.append(el("span", { class: "tally-right-n" }, `${n}/${d.answered}`),
          el("span", { class: "visually-hidden" }, " right"));
        node.style.setProperty("--share", String(d.answered ? n / d.answered : 0));
        line.append(node);
      }
      grid.append(line);
    }
    wrap.append(grid);
  }
  return wrap;
}

// A two-round question's reveal: both rounds' answers side by side (`first` the silent vote's,
// `second` the vote after the discussion), a phone's own cells of each marked.
export function drawRounds(q, first, second, answer, { mineFirst = null, mine = null } = {}) {
  const pair = el("div", { class: "tally-pair" });
  pair.append(drawDistribution(q, first, answer, { title: "Round 1", mine: mineFirst }),
    drawDistribution(q, second, answer, { title: "Round 2", mine }));
  return pair;
}
