// The answer grid: one text field per cell, laid out like the tensor (a number, a row, or
// one grid per filter). Arrow keys and Tab move between cells; a pasted row fills cells
// to the right (several lines fill the rows below); Enter asks to check.

import { readNumber, short } from "../common/format.js";

// [rows of cells] per plane for a shape: planes[p][r][c] = full index.
function layout(shape) {
  if (shape.length === 0) return [[[[]]]];
  if (shape.length === 1) return [[shape[0] ? [...Array(shape[0]).keys()].map((i) => [i]) : []]];
  if (shape.length === 2) {
    return [[...Array(shape[0]).keys()].map((r) => [...Array(shape[1]).keys()].map((c) => [r, c]))];
  }
  return [...Array(shape[0]).keys()].map((f) =>
    [...Array(shape[1]).keys()].map((r) => [...Array(shape[2]).keys()].map((c) => [f, r, c])));
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
    const planes = layout(this.shape);
    this.inputs = planes.map((rows, p) => {
      const table = document.createElement("table");
      table.className = "grid";
      if (planes.length > 1) {
        const caption = document.createElement("caption");
        caption.textContent = `filter ${p}`;
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
          input.addEventListener("input", () => this.unmark(input));
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
      }
    }));
  }

  // Put a value into the cell last focused (a click on a given value).
  enter(value) {
    const target = this.last || this.all()[0];
    if (!target || target.readOnly) return;
    target.value = String(value);
    this.unmark(target);
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
    if (this.shape.length === 0) return { answer: planes[0][0][0] };
    if (this.shape.length === 1) return { answer: planes[0][0] };
    if (this.shape.length === 2) return { answer: planes[0] };
    return { answer: planes };
  }

  // cells: the server's true/false per cell, in the answer's shape.
  mark(cells) {
    const flat = this.shape.length === 0 ? [cells] : [cells].flat(3);
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
    const flat = this.shape.length === 0 ? [answer] : [answer].flat(3);
    this.all().forEach((input, i) => {
      input.value = short(flat[i]);
      input.title = String(flat[i]);
      input.readOnly = true;
      this.unmark(input);
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
