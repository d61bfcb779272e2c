// The answer grid: one text field per cell, laid out like the tensor (a number, a row, one
// grid per filter, or, for a conv's (K, C, k, k) weights, one grid per filter and channel). Arrow keys and Tab move between cells; a pasted row fills cells
// to the right (several lines fill the rows below); Enter asks to check.

import { readNumber, short } from "../common/format.js";

const range = (n) => [...Array(n).keys()];
export const ROW = 4; // cells a row of a 1-D answer holds before the next row starts

// [rows of cells] per plane for a shape: planes[p][r][c] = full index; the leading axes
// (none, a filter, or a filter and a channel) name the planes.
function layout(shape) {
  if (shape.length === 0) return [[[[]]]];
  if (shape.length === 1) {
    // a long row is laid out ROW cells a line, reading on as the tensor does
    const lines = range(Math.max(1, Math.ceil(shape[0] / ROW)));
    return [lines.map((l) => range(Math.min(ROW, shape[0] - l * ROW)).map((c) => [l * ROW + c]))];
  }
  const [h, w] = shape.slice(-2);
  const grid = (prefix) => range(h).map((r) => range(w).map((c) => [...prefix, r, c]));
  if (shape.length === 2) return [grid([])];
  if (shape.length === 3) return range(shape[0]).map((f) => grid([f]));
  return range(shape[0]).flatMap((f) => range(shape[1]).map((c) => grid([f, c])));
}

function planeCaption(index) {
  return index.length === 4 ? `filter ${index[0]}, channel ${index[1]}` : `filter ${index[0]}`;
}

// Nest the planes' values back into the tensor's shape.
function nest(shape, planes) {
  if (shape.length === 0) return planes[0][0][0];
  if (shape.length === 1) return planes[0].flat();
  if (shape.length === 2) return planes[0];
  if (shape.length === 3) return planes;
  return range(shape[0]).map((f) => planes.slice(f * shape[1], (f + 1) * shape[1]));
}

// A value longer than the cell's room (the cell holds "-0.00541"): the cell widens to show
// it in full, and narrows back when it is shorter again.
function fit(input) {
  input.style.width = "";
  if (input.scrollWidth > input.clientWidth) {
    const extra = input.offsetWidth - input.clientWidth + 2;
    input.style.width = `${input.scrollWidth + extra}px`;
  }
}

// "0.5, -1 2\t3" -> [0.5, -1, 2, 3] as text pieces
function pieces(line) {
  return line.trim().split(/[\s,;]+/).filter((t) => t.length);
}

export class AnswerGrid {
  constructor(container, { name, shape, onSubmit }) {
    this.container = container;
    this.name = name;
    this.shape = shape;
    this.onSubmit = onSubmit;
    this.inputs = []; // planes[p][r][c] -> input
    this.last = null; // the input last focused
    this.build();
  }

  build() {
    this.container.replaceChildren();
    // wider than four cells: the grid may scroll sideways on a phone, as a region of its own
    const wide = this.shape.length >= 2 && this.shape[this.shape.length - 1] > ROW;
    if (wide) {
      this.container.setAttribute("role", "region");
      this.container.setAttribute("aria-label", `Answer grid for ${this.name} (scrolls sideways)`);
      this.container.tabIndex = 0;
    } else {
      this.container.removeAttribute("role");
      this.container.removeAttribute("aria-label");
      this.container.removeAttribute("tabindex");
    }
    const planes = layout(this.shape);
    this.inputs = planes.map((rows, p) => {
      const table = document.createElement("table");
      table.className = "grid";
      if (planes.length > 1) {
        const caption = document.createElement("caption");
        caption.textContent = planeCaption(rows[0][0]);
        table.append(caption);
      }
      const body = document.createElement("tbody");
      const plane = rows.map((row, r) => {
        const tr = document.createElement("tr");
        const cells = row.map((index, c) => {
          const td = document.createElement("td");
          const input = document.createElement("input");
          input.type = "text";
          input.inputMode = "decimal";
          input.autocomplete = "off";
          input.spellcheck = false;
          input.dataset.index = JSON.stringify(index);
          input.setAttribute("aria-label", `${this.name}${index.length ? `[${index.join(",")}]` : ""}`);
          input.addEventListener("keydown", (ev) => this.key(ev, p, r, c));
          input.addEventListener("paste", (ev) => this.paste(ev, p, r, c));
          input.addEventListener("focus", () => { this.last = input; input.select(); });
          input.addEventListener("input", () => { this.unmark(input); fit(input); });
          td.append(input);
          tr.append(td);
          return input;
        });
        body.append(tr);
        return cells;
      });
      table.append(body);
      this.container.append(table);
      return plane;
    });
  }

  unmark(input) {
    input.classList.remove("right", "wrong");
    input.removeAttribute("aria-invalid");
    const mark = input.parentElement.querySelector(".mark");
    if (mark) mark.remove();
  }

  all() {
    return this.inputs.flat(2);
  }

  focusFirst() {
    const first = this.all()[0];
    if (first) first.focus();
  }

  key(ev, p, r, c) {
    const plane = this.inputs[p];
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    if (ev.key === "Enter") {
      ev.preventDefault();
      this.onSubmit();
      return;
    }
    const move = moves[ev.key];
    if (!move) return;
    let [nr, nc] = [r + move[0], c + move[1]];
    let np = p;
    // off the edge of a filter's grid: on to the next (or previous) filter
    if (nr >= plane.length && np + 1 < this.inputs.length) { np += 1; nr = 0; }
    if (nr < 0 && np > 0) { np -= 1; nr = this.inputs[np].length - 1; }
    const target = this.inputs[np] && this.inputs[np][nr] && this.inputs[np][nr][nc];
    if (target) {
      ev.preventDefault();
      target.focus();
    }
  }

  paste(ev, p, r, c) {
    const text = (ev.clipboardData || window.clipboardData).getData("text");
    const lines = text.split(/\r?\n/).filter((l) => l.trim().length);
    const values = lines.map(pieces);
    if (values.length === 1 && values[0].length <= 1) return; // one number: paste as usual
    ev.preventDefault();
    const plane = this.inputs[p];
    values.forEach((row, i) => row.forEach((v, j) => {
      const target = plane[r + i] && plane[r + i][c + j];
      if (target) {
        target.value = v;
        this.unmark(target);
        fit(target);
      }
    }));
  }

  // Put a value into the cell last focused (a click on a given value).
  enter(value) {
    const target = this.last || this.all()[0];
    if (!target || target.readOnly) return;
    target.value = String(value);
    this.unmark(target);
    fit(target);
    target.focus();
  }

  fillEmpty(value) {
    for (const input of this.all()) if (!input.readOnly && input.value.trim() === "") input.value = String(value);
  }

  // The answer as nested lists of numbers, or {error, input} for the first bad cell.
  read() {
    let bad = null;
    const value = (input) => {
      const v = readNumber(input.value);
      if (!Number.isFinite(v) && !bad) bad = input;
      return v;
    };
    const planes = this.inputs.map((plane) => plane.map((row) => row.map(value)));
    if (bad) {
      const what = bad.value.trim() === "" ? "is empty" : `is not a number ("${bad.value.trim()}")`;
      return { error: `${bad.getAttribute("aria-label")} ${what}`, input: bad };
    }
    return { answer: nest(this.shape, planes) };
  }

  // cells: the server's true/false per cell, in the answer's shape.
  mark(cells) {
    const flat = this.shape.length === 0 ? [cells] : [cells].flat(4);
    this.all().forEach((input, i) => {
      const right = Boolean(flat[i]);
      input.classList.toggle("right", right);
      input.classList.toggle("wrong", !right);
      input.setAttribute("aria-invalid", right ? "false" : "true");
      // not by colour alone: a ✓ or ✗ in the padding on the input's left, clear of the
      // right-aligned value (aria-invalid says the same to a screen reader)
      let mark = input.parentElement.querySelector(".mark");
      if (!mark) {
        mark = document.createElement("span");
        mark.setAttribute("aria-hidden", "true");
        input.before(mark);
      }
      mark.className = `mark ${right ? "right" : "wrong"}`;
      mark.textContent = right ? "✓" : "✗";
    });
  }

  // Show the answer: every cell filled and locked.
  show(answer) {
    const flat = this.shape.length === 0 ? [answer] : [answer].flat(4);
    this.all().forEach((input, i) => {
      input.value = short(flat[i]);
      input.title = String(flat[i]);
      input.readOnly = true;
      this.unmark(input);
      fit(input);
      input.classList.add("shown");
    });
  }

  lock() {
    for (const input of this.all()) input.readOnly = true;
  }

  // Outline cells (full indices) in the grid, e.g. the cell a hint is about.
  outline(indices) {
    const keys = new Set(indices.map((ix) => JSON.stringify(ix)));
    for (const input of this.all()) input.classList.toggle("hinted", keys.has(input.dataset.index));
  }
}
