// The explanation beside the grid: the current step's formula, the same formula with the
// live numbers (both as the server wrote them, MathML), one sentence, a link to practise
// the step, and at an update step the update W -> -η·dW -> new W.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";

const $ = (id) => document.getElementById(id);
const MATHML = "http://www.w3.org/1998/Math/MathML";

// MathML does not wrap: shrink a formula's type a little, and if it still does not fit,
// break it into lines before each top-level "=" (lhs = a / = b / = c), then shrink again.
// Sizes come from one measurement each, not found by trial: each measurement is a layout.
function fit(element, size) {
  const shrinkTo = (floor) => {
    element.style.fontSize = `${size}px`;
    const needed = element.scrollWidth;
    const room = element.clientWidth;
    if (needed <= room + 1) return true;
    const s = Math.max(floor, Math.floor((size * room) / needed));
    element.style.fontSize = `${s}px`;
    return s * needed <= size * (room + 1);
  };
  if (shrinkTo(size - 3)) return;
  breakAtEquals(element);
  shrinkTo(12);
}

// Measuring a formula lays out the page, which costs more than anything else in a step. A
// formula whose characters, each as wide as a wide glyph, would fit is not measured: it
// fits. The rest are measured together (one layout), and only one that overflows is fitted.
const WIDE = 0.65; // of the font size: wider than the average glyph of a formula
let rooms = new WeakMap(); // element -> its width, which changes only with the window
window.addEventListener("resize", () => { rooms = new WeakMap(); });
function roomOf(element) {
  if (!rooms.has(element)) rooms.set(element, element.clientWidth);
  return rooms.get(element);
}

function fitBoth(pairs) {
  for (const [element, size] of pairs) element.style.fontSize = `${size}px`;
  const unsure = pairs.filter(([element, size]) => element.textContent.length * size * WIDE > roomOf(element));
  const over = unsure.filter(([element]) => element.scrollWidth > element.clientWidth + 1);
  for (const [element, size] of over) fit(element, size);
}

function breakAtEquals(element) {
  const math = element.querySelector("math");
  const row = math && math.firstElementChild;
  if (!row || row.localName !== "mrow") return false;
  const lines = [[]];
  for (const child of [...row.children]) {
    if (child.localName === "mo" && child.textContent === "=" && lines[lines.length - 1].length) {
      lines.push([]);
    }
    lines[lines.length - 1].push(child);
  }
  if (lines.length < 3) return false; // "a = b" alone gains nothing from a break
  const merged = [[...lines[0], ...lines[1]], ...lines.slice(2)];
  const table = document.createElementNS(MATHML, "mtable");
  table.setAttribute("columnalign", "left");
  for (const parts of merged) {
    const tr = document.createElementNS(MATHML, "mtr");
    const td = document.createElementNS(MATHML, "mtd");
    td.setAttribute("columnalign", "left");
    const inner = document.createElementNS(MATHML, "mrow");
    inner.append(...parts);
    td.append(inner);
    tr.append(td);
    table.append(tr);
  }
  row.replaceChildren(table);
  return true;
}

export function createExplain({ api }) {
  let shownUpdate = null; // the update object drawn

  function progress(walk) {
    const total = walk.steps.length;
    const step = walk.step;
    const pass = walk.epoch > 0 ? ` · pass ${walk.epoch + 1}` : "";
    $("progress").textContent = step
      ? `Step ${step.index + 1} of ${total} · ${step.phase} · ${step.writes}${pass}`
      : `Start · ${total} steps${pass}`;
  }

  function render(walk) {
    const step = walk.step;
    $("explain-phase").textContent = step ? step.phase : "start";
    const practise = $("practise");
    if (!step) {
      $("explain-title").textContent = "The input and the parameters";
      $("explain-formula").replaceChildren();
      $("explain-numbers").replaceChildren();
      $("explain-text").textContent = `X is the image and Y = ${walk.tensors.Y} its label. W1, b1, W2 and b2 ` +
        `are the ${walk.config.n_params} parameters the network learns. Press Next (→) to run the forward ` +
        "pass one operation at a time: each result is computed only at its step, so you can predict it first.";
      $("explain-detail").textContent = "Hover any cell to see where its number comes from.";
      practise.hidden = true;
      practise.removeAttribute("href");
    } else {
      $("explain-title").textContent = `Step ${step.index + 1}: ${step.phase === "update" ? "update " : ""}${step.writes}`;
      $("explain-formula").innerHTML = step.mathml;
      $("explain-numbers").innerHTML = step.mathml_numbers || "";
      fitBoth([[$("explain-formula"), 17], [$("explain-numbers"), 15]]);
      $("explain-text").textContent = step.text;
      $("explain-detail").textContent = step.phase === "update" ? "" : "Hover any cell to see where its number comes from.";
      practise.hidden = false;
      practise.href = api.practicePath(step.writes);
      practise.textContent = `Practise this step (${step.writes})`;
    }
    renderUpdate(walk.update);
    // Last: these restyle the whole page (main's phase colours everything below it), and
    // the formulas above were measured before they did.
    const main = $("main");
    main.dataset.step = step ? step.writes : "start";
    main.dataset.phase = step ? step.phase : "start";
    progress(walk);
  }

  // W -> + (−η·dW) -> = new W, on one colour range from the server; at the last update
  // step, the loss on the example before and after.
  function renderUpdate(update) {
    const box = $("update-view");
    if (update === shownUpdate) return;
    shownUpdate = update;
    box.replaceChildren();
    box.hidden = !update;
    if (!update) return;
    const row = document.createElement("div");
    row.className = "update-row";
    const parts = [[update.name, update.before, "now"], [`−η·d${update.name}`, update.change, "the step"],
      [`new ${update.name}`, update.after, "after the step"]];
    parts.forEach(([label, value, note], i) => {
      if (i > 0) row.append(Object.assign(document.createElement("span"), { className: "op", textContent: i === 1 ? "+" : "=" }));
      const cell = document.createElement("div");
      cell.className = "update-part";
      cell.innerHTML = `<div class="label"></div><div class="body"></div><div class="note"></div>`;
      cell.querySelector(".label").textContent = label;
      cell.querySelector(".note").textContent = note;
      row.append(cell);
      const flat = Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value;
      new TensorView(cell.querySelector(".body"), { name: label, cell: 26 }).render(flat, update.range);
    });
    box.append(row);
    if (update.loss_after !== undefined && update.loss_after !== null) {
      const loss = document.createElement("p");
      loss.className = "loss-change";
      const before = update.loss_before;
      const after = update.loss_after;
      loss.textContent = `Loss on this example: ${short(before)} before the update → ${short(after)} after ` +
        `(${after < before ? "lower" : "not lower"}).`;
      box.append(loss);
    }
  }

  return { render };
}
