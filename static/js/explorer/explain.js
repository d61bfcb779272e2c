// The explanation beside the grid: the current step's formula, the same formula with the
// live numbers (both as the server wrote them, MathML), one sentence, a link to practise
// the step, and at an update step the update W -> -η·dW -> new W.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";

const $ = (id) => document.getElementById(id);
const MATHML = "http://www.w3.org/1998/Math/MathML";

// MathML does not wrap by itself. A formula too wide for its box is broken into lines
// before its top-level "=", "+", "−" and "←" (never inside brackets), packed greedily, each
// continuation line indented; its type shrinks (never below 12 px) only as far as the
// widest piece that cannot be broken needs. If even that does not fit, the box scrolls
// sideways and says so: nothing is ever cut off.
const MIN_SIZE = 12;
const OPEN = new Set(["(", "[", "{", "⟨"]);
const CLOSE = new Set([")", "]", "}", "⟩"]);
const BREAK_BEFORE = new Set(["=", "+", "−", "-", "←", "≈"]);

// A grouping <mrow> (a bracketed vector, say) is opened up, so a long vector can break
// after one of its commas; fractions, roots and scripts stay whole, and so does a cell's
// index ("[0,1,0]" is not a group: it never breaks).
function tokens(row, nested = false) {
  return [...row.children].flatMap((child) => (child.localName === "mrow"
    ? tokens(child, true) : [[child, nested]]));
}

function pieces(row) {
  const out = [[]];
  let depth = 0;
  let prev = null;
  let prevNested = false;
  for (const [child, nested] of tokens(row)) {
    if (prev && prevNested && prev.localName === "mo" && prev.textContent.trim() === "," && depth > 0) out.push([]);
    const op = child.localName === "mo" ? child.textContent.trim() : null;
    const binary = prev && !(prev.localName === "mo" && (OPEN.has(prev.textContent.trim())
      || BREAK_BEFORE.has(prev.textContent.trim())));
    if (op && depth === 0 && binary && BREAK_BEFORE.has(op) && out[out.length - 1].length) out.push([]);
    if (op && OPEN.has(op)) depth += 1;
    if (op && CLOSE.has(op)) depth = Math.max(0, depth - 1);
    out[out.length - 1].push(child);
    prev = child;
    prevNested = nested;
  }
  return out;
}

function widthOf(parts) {
  if (!parts.length) return 0;
  const first = parts[0].getBoundingClientRect();
  const last = parts[parts.length - 1].getBoundingClientRect();
  return Math.max(last.right - first.left, parts.reduce((w, el) => w + el.getBoundingClientRect().width, 0));
}

function lineUp(row, groups) {
  const table = document.createElementNS(MATHML, "mtable");
  table.setAttribute("columnalign", "left");
  table.setAttribute("rowspacing", "0.3em");
  groups.forEach((parts, i) => {
    const tr = document.createElementNS(MATHML, "mtr");
    const td = document.createElementNS(MATHML, "mtd");
    td.setAttribute("columnalign", "left");
    const inner = document.createElementNS(MATHML, "mrow");
    inner.setAttribute("displaystyle", "true"); // a table cell would shrink fractions
    if (i > 0) {
      const indent = document.createElementNS(MATHML, "mspace");
      indent.setAttribute("width", "1.5em");
      inner.append(indent);
    }
    inner.append(...parts);
    td.append(inner);
    tr.append(td);
    table.append(tr);
  });
  row.replaceChildren(table);
}

function wrap(element, size) {
  element.classList.remove("scrolls");
  element.style.fontSize = `${size}px`;
  if (element.scrollWidth <= element.clientWidth + 1) return;
  const math = element.querySelector("math");
  const row = math && math.firstElementChild;
  if (row && row.localName === "mrow" && row.children.length > 1) {
    const style = getComputedStyle(element);
    const room = element.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) - 2;
    const groups = pieces(row);
    const widths = groups.map(widthOf).map((w) => w * 1.1 + 4); // operator spacing, rounding
    const indent = 1.5 * size;
    const widest = Math.max(widths[0], ...widths.slice(1).map((w) => w + indent));
    const s = Math.max(MIN_SIZE, Math.min(size, Math.floor((size * room) / widest)));
    const scale = s / size;
    const lines = [];
    let used = Infinity;
    groups.forEach((parts, i) => {
      const w = widths[i] * scale;
      if (lines.length && used + w <= room) {
        lines[lines.length - 1].push(...parts);
        used += w;
      } else {
        lines.push([...parts]);
        used = w + (lines.length > 1 ? indent * scale : 0);
      }
    });
    element.style.fontSize = `${s}px`;
    if (lines.length > 1) lineUp(row, lines);
    // The pieces were measured one by one: if the lines still overflow a little, shrink
    // by what one more measurement says is missing (never below the floor).
    const over = element.scrollWidth - element.clientWidth;
    if (over > 1 && s > MIN_SIZE) {
      const t = Math.max(MIN_SIZE, Math.floor((s * element.clientWidth) / element.scrollWidth));
      element.style.fontSize = `${t}px`;
    }
  }
  if (element.scrollWidth > element.clientWidth + 1) element.classList.add("scrolls");
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
      latex = "";
      $("btn-copy-latex").hidden = true;
    } else {
      $("explain-title").textContent = `Step ${step.index + 1}: ${step.phase === "update" ? "update " : ""}${step.writes}`;
      $("explain-formula").innerHTML = step.mathml;
      $("explain-numbers").innerHTML = step.mathml_numbers || "";
      latex = step.latex_numbers || step.latex;
      $("btn-copy-latex").hidden = false;
      fitBoth([[$("explain-formula"), 17], [$("explain-numbers"), 15]]);
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
