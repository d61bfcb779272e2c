// The explanation beside the grid: the current step's formula, the same formula with the
// live numbers (both as the server wrote them, MathML), one sentence, a link to practise
// the step, and at an update step the update W -> -η·dW -> new W.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";

const $ = (id) => document.getElementById(id);
const MATHML = "http://www.w3.org/1998/Math/MathML";

// MathML does not wrap by itself. A formula too wide for its box is broken into lines
// before its top-level "=", "+", "−" and "←" (never inside brackets), after a top-level
// comma and between the words of its text, packed greedily, each continuation line
// indented; a table cell of words (a case's condition, "if A1 is the max of its window")
// is broken into lines of its own. Only what still cannot fit shrinks the type, never
// below a readable 14 px; if even that does not fit, the box scrolls sideways and says so:
// nothing is ever cut off.
export const MIN_SIZE = 14;
const OPEN = new Set(["(", "[", "{", "⟨"]);
const CLOSE = new Set([")", "]", "}", "⟩"]);
const BREAK_BEFORE = new Set(["=", "+", "−", "-", "←", "≈"]);

const text = (el) => el.textContent.trim();
const isMo = (el, set) => el && el.localName === "mo" && set.has(text(el));
const fits = (element) => element.scrollWidth <= element.clientWidth + 1;
// Widths from getBoundingClientRect are on screen; clientWidth is in the element's own CSS
// pixels. Under CSS zoom (the projector sizes) the two differ by the zoom.
const zoomOf = (element) => element.currentCSSZoom || 1;

// Every <mtext> of several words becomes one <mtext> per word, so a line can break
// between them.
function splitWords(root) {
  for (const el of [...root.querySelectorAll("mtext")]) {
    const words = el.textContent.split(/(?<=[\s\u00a0])/u).filter(Boolean);
    if (words.length < 2) continue;
    el.replaceWith(...words.map((w) => Object.assign(document.createElementNS(MATHML, "mtext"), { textContent: w })));
  }
}
const wordBreak = (prev, child) => (prev && prev.localName === "mtext" && /[\s\u00a0]$/u.test(prev.textContent))
  || (child.localName === "mtext" && /^[\s\u00a0]/u.test(child.textContent));

// A grouping <mrow> (a bracketed vector, say) is opened up, so a long vector can break
// after one of its commas; fractions, roots and scripts stay whole, and so does a cell's
// index ("[0,1,0]" is not a group: it never breaks).
function tokens(row, nested = false) {
  return [...row.children].flatMap((child) => (child.localName === "mrow"
    ? tokens(child, true) : [[child, nested]]));
}

// Breaks: before a top-level operator; after a comma, unless it is inside a cell's index
// (square brackets, not a vector); between words.
function pieces(row) {
  const out = [[]];
  const open = []; // the brackets open at this point
  let prev = null;
  let prevNested = false;
  for (const [child, nested] of tokens(row)) {
    const comma = isMo(prev, new Set([","]));
    const current = out[out.length - 1];
    if (comma && (prevNested || open[open.length - 1] !== "[")) out.push([]);
    else if (current.length && wordBreak(prev, child)) out.push([]);
    const op = child.localName === "mo" ? text(child) : null;
    const binary = prev && !(isMo(prev, OPEN) || isMo(prev, BREAK_BEFORE));
    if (op && !open.length && binary && BREAK_BEFORE.has(op) && out[out.length - 1].length) out.push([]);
    if (op && OPEN.has(op)) open.push(op);
    if (op && CLOSE.has(op)) open.pop();
    out[out.length - 1].push(child);
    prev = child;
    prevNested = nested;
  }
  return out.filter((p) => p.length);
}

function widthOf(parts, zoom) {
  if (!parts.length) return 0;
  const first = parts[0].getBoundingClientRect();
  const last = parts[parts.length - 1].getBoundingClientRect();
  return Math.max(last.right - first.left, parts.reduce((w, el) => w + el.getBoundingClientRect().width, 0)) / zoom;
}

// Lines (lists of MathML elements) as a left-aligned table, each after the first indented.
function linesTable(lines, indentEm) {
  const table = document.createElementNS(MATHML, "mtable");
  table.setAttribute("columnalign", "left");
  table.setAttribute("rowspacing", "0.3em");
  table.dataset.lines = "";
  lines.forEach((parts, i) => {
    const tr = document.createElementNS(MATHML, "mtr");
    const td = document.createElementNS(MATHML, "mtd");
    td.setAttribute("columnalign", "left");
    const inner = document.createElementNS(MATHML, "mstyle"); // displaystyle is mstyle's
    inner.setAttribute("displaystyle", "true"); // a table cell would shrink fractions
    if (i > 0 && indentEm) {
      const indent = document.createElementNS(MATHML, "mspace");
      indent.setAttribute("width", `${indentEm}em`);
      inner.append(indent);
    }
    inner.append(...parts);
    td.append(inner);
    tr.append(td);
    table.append(tr);
  });
  return table;
}

// Greedy packing of pieces of the given widths into lines of at most room (the first
// line has no indent); a space that would start a line is dropped.
function pack(groups, widths, room, indent) {
  const lines = [];
  let used = Infinity;
  groups.forEach((parts, i) => {
    if (lines.length && used + widths[i] <= room) {
      lines[lines.length - 1].push(...parts);
      used += widths[i];
    } else {
      const blank = parts.every((el) => el.localName === "mtext" && !el.textContent.trim());
      if (blank && lines.length) return;
      lines.push([...parts]);
      used = widths[i] + (lines.length > 1 ? indent : 0);
    }
  });
  return lines;
}

function breakLines(row, room, size, zoom) {
  const groups = pieces(row);
  if (groups.length < 2) return;
  const widths = groups.map((g) => widthOf(g, zoom) * 1.1 + 4); // operator spacing, rounding
  const lines = pack(groups, widths, room, 1.5 * size);
  if (lines.length > 1) row.replaceChildren(linesTable(lines, 1.5));
}

// The widest table cell holding words (not a line made above) is broken into lines narrow
// enough to take off what overflows. False when no cell could be narrowed.
function breakCells(element, zoom) {
  const over = element.scrollWidth - element.clientWidth + 2;
  const cells = [...element.querySelectorAll("mtd")]
    .filter((td) => !td.parentElement.parentElement.hasAttribute("data-lines") && td.querySelector("mtext"))
    .map((td) => [td, td.getBoundingClientRect().width / zoom])
    .sort((a, b) => b[1] - a[1]);
  for (const [td, width] of cells) {
    const row = td.children.length === 1 && td.firstElementChild.localName === "mrow" ? td.firstElementChild : td;
    const groups = pieces(row);
    if (groups.length < 2) continue;
    const widths = groups.map((g) => widthOf(g, zoom) * 1.05 + 1);
    const target = Math.max(Math.max(...widths), width - over);
    const lines = pack(groups, widths, target, 0);
    if (lines.length < 2) continue;
    td.replaceChildren(linesTable(lines, 0));
    return true;
  }
  return false;
}

function wrap(element, size) {
  element.classList.remove("scrolls");
  element.style.fontSize = `${size}px`;
  if (fits(element)) return;
  const math = element.querySelector("math");
  const row = math && math.firstElementChild;
  if (row) {
    const zoom = zoomOf(element);
    const style = getComputedStyle(element);
    const room = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    splitWords(math);
    if (row.localName === "mrow" && row.children.length > 1) breakLines(row, room, size, zoom);
    for (let i = 0; i < 4 && !fits(element); i += 1) if (!breakCells(element, zoom)) break;
    // What no break could narrow shrinks the type, by what a measurement says is missing
    // (never below the floor), and the lines are packed again at that size.
    if (!fits(element) && size > MIN_SIZE) {
      const t = Math.max(MIN_SIZE, Math.floor((size * element.clientWidth) / element.scrollWidth));
      element.style.fontSize = `${t}px`;
    }
  }
  if (!fits(element)) element.classList.add("scrolls");
}

// Measuring a formula lays out the page, which costs more than anything else in a step. A
// formula whose characters, each as wide as a wide glyph, would fit is not measured: it
// fits. The rest are measured together (one layout), and only one that overflows is fitted.
const WIDE = 1.0; // of the font size: as wide as any glyph of a formula (an em)
let rooms = new WeakMap(); // element -> its width, which changes only with the window
window.addEventListener("resize", () => { rooms = new WeakMap(); });
function roomOf(element) {
  if (!rooms.has(element)) rooms.set(element, element.clientWidth);
  return rooms.get(element);
}

function fitBoth(pairs) {
  for (const [element, size] of pairs) {
    element.style.fontSize = `${size}px`;
    element.classList.remove("scrolls");
  }
  const unsure = pairs.filter(([element, size]) => element.textContent.length * size * WIDE > roomOf(element));
  const over = unsure.filter(([element]) => element.scrollWidth > element.clientWidth + 1);
  for (const [element, size] of over) wrap(element, size);
}

// What this example shows at a step the seed turns on, in words (from numbers the walk has
// already shown): at dZ1, whether ReLU blocks any gradient max-pooling routed.
function teaching(walk) {
  const t = walk.tensors;
  if (!walk.step || walk.step.writes !== "dZ1" || !t.dA1 || !t.Z1) return "";
  let routed = 0;
  let blocked = 0;
  t.dA1.forEach((plane, f) => plane.forEach((row, r) => row.forEach((g, c) => {
    if (g === 0) return;
    routed += 1;
    if (!(t.Z1[f][r][c] > 0)) blocked += 1;
  })));
  const hatch = " The hatched cells are where Z1 ≤ 0.";
  if (blocked > 0) {
    return `${hatch} Here ReLU blocks ${blocked} of the ${routed} gradients max-pooling routed: ` +
      `${blocked === 1 ? "that window's winner" : "those windows' winners"} had Z1 ≤ 0, so ` +
      "dZ1 is 0 there although dA1 is not.";
  }
  return `${hatch} Here every one of the ${routed} routed gradients passes: each window's ` +
    "winner had Z1 > 0. Choose the horizontal stroke in Edit to see ReLU block one.";
}

export function createExplain({ api, toast = () => {} }) {
  let shownUpdate = null; // the update object drawn
  let latex = ""; // the current step's formula with its numbers (or without, where none)

  $("btn-copy-latex").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(latex);
      toast("LaTeX copied: the formula with this example's numbers.");
    } catch {
      toast(`Copy it from here: ${latex}`);
    }
  });

  function progress(walk) {
    const total = walk.steps.length;
    const step = walk.step;
    const pass = walk.epoch > 0 ? ` · pass ${walk.epoch + 1}` : "";
    $("progress").textContent = step
      ? `Step ${step.index + 1} of ${total} · ${step.phase} · ${step.writes}${pass}`
      : `Start · ${total} steps${pass}`;
  }

  // The step's explanation is new content at every step: its boxes are new elements, not
  // old ones moved by the height of what came before them (no layout shift while stepping).
  function fresh(id) {
    const old = $(id);
    const el = old.cloneNode(false);
    el.removeAttribute("style");
    el.classList.remove("scrolls");
    old.replaceWith(el);
    return el;
  }

  function render(walk) {
    const step = walk.step;
    for (const id of ["explain-formula", "explain-numbers", "explain-also", "explain-text", "explain-detail"]) fresh(id);
    $("explain-phase").textContent = step ? step.phase : "start";
    const practise = $("practise");
    if (!step) {
      $("explain-title").textContent = "The input and the parameters";
      $("explain-formula").replaceChildren();
      $("explain-numbers").replaceChildren();
      $("explain-also").replaceChildren();
      $("explain-text").textContent = `X is the image and Y = ${walk.tensors.Y} its label. W1, b1, W2 and b2 ` +
        `are the ${walk.config.n_params} parameters the network learns. Press Next (→) to run the forward ` +
        "pass one operation at a time: each result is computed only at its step, so you can predict it first.";
      $("explain-detail").textContent = "Hover any cell to see where its number comes from.";
      practise.hidden = true;
      practise.removeAttribute("href");
      latex = "";
      $("btn-copy-latex").hidden = true;
    } else {
      $("explain-title").textContent = `Step ${step.index + 1}: ${step.phase === "update" ? "update " : ""}${step.writes}`;
      $("explain-formula").innerHTML = step.mathml;
      $("explain-numbers").innerHTML = step.mathml_numbers || "";
      const also = step.also || [];
      latex = [step.latex_numbers || step.latex, ...also.map((a) => a.latex_numbers || a.latex)].join(",\\qquad ");
      $("btn-copy-latex").hidden = false;
      fitBoth([[$("explain-formula"), 17], [$("explain-numbers"), 15], ...renderAlso(also)]);
      $("explain-text").textContent = step.text + teaching(walk);
      $("explain-detail").textContent = step.phase === "update" ? "" : "Hover any cell to see where its number comes from.";
      practise.hidden = false;
      practise.href = api.practicePath(step.writes, walk);
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

  // What the step computes beside what it writes (dX beside dW1), each with its formula
  // and the same with the numbers, as the server wrote them: the boxes to fit.
  function renderAlso(also) {
    const box = $("explain-also");
    box.replaceChildren();
    return also.flatMap((a) => {
      const item = document.createElement("section");
      item.className = "also-item";
      item.dataset.tensor = a.writes;
      const head = document.createElement("h3");
      head.textContent = `The same backward pass gives ${a.writes}`;
      const formula = Object.assign(document.createElement("div"), { className: "formula" });
      formula.innerHTML = a.mathml;
      const numbers = Object.assign(document.createElement("div"), { className: "formula numbers" });
      numbers.innerHTML = a.mathml_numbers || "";
      item.append(head, formula, numbers);
      box.append(item);
      return [[formula, 17], [numbers, 15]];
    });
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
