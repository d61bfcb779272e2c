// The explanation beside the grid: the current step's formula, the same formula with the
// live numbers (both as the server wrote them, MathML), one sentence, a link to practise
// the step, and at an update step the update W -> -η·dW -> new W.

import { TensorView } from "../common/heatmap.js";
import { short } from "../common/format.js";
import { scrollRegion, wrapFormula as wrap } from "../common/formula-lines.js";
import { walkExample } from "./url.js";

const $ = (id) => document.getElementById(id);
// A formula too wide for its box breaks at its operators (the rules every page shares);
// only what still cannot fit shrinks, never below 14 px, and then it scrolls.

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
  for (const [element, size, label] of over) {
    wrap(element, size, { spaces: true }); // two formulas on a line may go on two
    scrollRegion(element, label); // one still too wide: the keyboard scrolls it
  }
}

// What this example shows at a step the seed turns on, in words (from numbers the walk has
// already shown): at dZ1, whether ReLU blocks any gradient max-pooling routed.
function teaching(walk) {
  const t = walk.tensors;
  if (!walk.config || !walk.step || walk.step.writes !== "dZ1" || !t.dA1 || !t.Z1) return "";
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
    const pass = (walk.epoch > 0 ? ` · pass ${walk.epoch + 1}` : "") +
      (walk.batch > 1 ? ` · example ${(walk.example || 0) + 1} of ${walk.batch}` : "");
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
      const names = walk.network.params;
      const listed = names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}` : names[0];
      const image = walk.batch > 1 ? `X is example ${(walk.example || 0) + 1} of the ${walk.batch} in the batch` : "X is the image";
      $("explain-text").textContent = `${image} and Y = ${walk.tensors.Y} its label. ${listed} ` +
        `are the ${walk.network.n_params} parameters the network learns. Press Next (→) to run the forward ` +
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
      fitBoth([[$("explain-formula"), 17, "The formula"], [$("explain-numbers"), 15, "The formula with the numbers"],
        ...renderAlso(also, step.phase)]);
      $("explain-text").textContent = step.text + teaching(walk);
      $("explain-detail").textContent = step.phase === "update" ? "" : "Hover any cell to see where its number comes from.";
      practise.hidden = false;
      practise.href = api.practicePath(step.writes, walkExample(walk));
      practise.textContent = `Practise this step (${step.writes})`;
    }
    renderUpdate(walk.update, walk.optimizer);
    // Last: these restyle the whole page (main's phase colours everything below it), and
    // the formulas above were measured before they did.
    const main = $("main");
    main.dataset.step = step ? step.writes : "start";
    main.dataset.phase = step ? step.phase : "start";
    progress(walk);
  }

  // What the step computes beside what it writes (dX beside dW1), each with its formula
  // and the same with the numbers, as the server wrote them: the boxes to fit.
  function renderAlso(also, phase) {
    const box = $("explain-also");
    box.replaceChildren();
    return also.flatMap((a) => {
      const item = document.createElement("section");
      item.className = "also-item";
      item.dataset.tensor = a.writes;
      const head = document.createElement("h3");
      head.textContent = phase === "update" ? `The optimizer's state: ${a.writes}` : `The same backward pass gives ${a.writes}`;
      const formula = Object.assign(document.createElement("div"), { className: "formula" });
      formula.innerHTML = a.mathml;
      const numbers = Object.assign(document.createElement("div"), { className: "formula numbers" });
      numbers.innerHTML = a.mathml_numbers || "";
      item.append(head, formula, numbers);
      box.append(item);
      return [[formula, 17, `The formula of ${a.writes}`], [numbers, 15, `The formula of ${a.writes} with the numbers`]];
    });
  }

  // W -> + (−η·dW) -> = new W, on one colour range from the server; at the last update
  // step, the loss on the example before and after.
  function renderUpdate(update, optimizer) {
    const box = $("update-view");
    if (update === shownUpdate) return;
    shownUpdate = update;
    box.replaceChildren();
    box.hidden = !update;
    if (!update) return;
    const row = document.createElement("div");
    row.className = "update-row";
    const change = optimizer ? `Δ${update.name}` : `−η·d${update.name}`; // the formula says what Δ is
    const parts = [[update.name, update.before, "now"], [change, update.change, "the step"],
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
    if (update.state) box.append(stateView(update));
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

// The optimizer's state at an update step (`update.state`): each quantity before and after
// (v; or m and s), then Adam's bias-corrected m̂ and ŝ, and the update count t.
const HAT = { m_hat: "m̂", s_hat: "ŝ" };
function stateView(update) {
  const box = document.createElement("section");
  box.className = "state-view";
  const head = document.createElement("h3");
  head.textContent = `The optimizer's state for ${update.name} · t = ${update.t}`;
  box.append(head);
  const state = update.state;
  const suffix = `_${update.name}`;
  const rows = [];
  for (const key of Object.keys(state)) {
    if (key.endsWith("_after")) continue;
    const base = key.slice(0, -suffix.length);
    if (HAT[base]) rows.push([[`${HAT[base]}${suffix}`, state[key], `bias-corrected, t = ${update.t}`]]);
    else rows.push([[key, state[key], `before (t = ${update.t - 1})`], [`${key}′`, state[`${key}_after`], `after (t = ${update.t})`]]);
  }
  for (const parts of rows) {
    const row = document.createElement("div");
    row.className = "update-row state-row";
    // one colour range per row (its before and after), symmetric about 0: the server sends
    // none for the state, whose numbers span many orders of magnitude between m and s
    const top = Math.max(...parts.flatMap(([, value]) => [value].flat(3).map(Math.abs)).filter(Number.isFinite), 0) || 1;
    const range = { min: -top, max: top, scale: "diverging" };
    parts.forEach(([label, value, note], i) => {
      if (i > 0) row.append(Object.assign(document.createElement("span"), { className: "op", textContent: "→" }));
      const cell = document.createElement("div");
      cell.className = "update-part";
      cell.dataset.state = label;
      cell.innerHTML = `<div class="label"></div><div class="body"></div><div class="note"></div>`;
      cell.querySelector(".label").textContent = label;
      cell.querySelector(".note").textContent = note;
      row.append(cell);
      const flat = Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value;
      new TensorView(cell.querySelector(".body"), { name: label, cell: 26 }).render(flat, range);
    });
    box.append(row);
  }
  return box;
}
