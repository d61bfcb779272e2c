// The explorer page: wires the store, the API, the heatmaps and the controls together.

import { api } from "../common/api.js";
import { createStore } from "../common/store.js";
import { TensorView } from "../common/heatmap.js";
import { linksFor } from "./links.js";
import { decodeState, encodeState } from "./url.js";
import { short } from "../common/format.js";
import { setupEditors } from "./edit.js";
import { setupTraining } from "./train.js";
import { setupGradcheck } from "./gradcheck.js";

const $ = (id) => document.getElementById(id);

// The grid: each column holds a tensor (forward row) and its gradient (backward row).
const COLUMNS = [
  { forward: ["X"], backward: ["dX"] },
  { forward: ["W1", "b1"], backward: ["dW1", "db1"] },
  { forward: ["Z1"], backward: ["dZ1"] },
  { forward: ["A1"], backward: ["dA1"] },
  { forward: ["P1"], backward: ["dP1"] },
  { forward: ["F"], backward: ["dF"] },
  { forward: ["W2", "b2"], backward: ["dW2", "db2"] },
  { forward: ["Z2", "A2", "L"], backward: ["dZ2", "dA2"] },
];
const INPUTS = new Set(["X", "Y", "W1", "b1", "W2", "b2"]);
const TITLES = {
  X: "input", W1: "filter", b1: "bias", Z1: "conv", A1: "ReLU", P1: "max-pool", F: "flatten",
  W2: "dense weights", b2: "bias", Z2: "logit", A2: "σ", L: "loss", dX: "saliency",
};

const DEFAULTS = {
  config: { input_size: 6, kernel_size: 3, filters: 1, pool_size: 2 },
  presetName: "vertical_stroke", x: null, y: 1, lr: 0.1, seed: 0,
  params: null, paramsEdited: false, cursor: -1, pass: 1,
  history: [], // parameters of the earlier passes, so Previous can go back through an update
};

const store = createStore({
  ...DEFAULTS, meta: null, trace: null, after: null, busy: false, error: "", playing: false,
});
const views = new Map(); // tensor name -> TensorView
let inflight = null;

// ---------------------------------------------------------------------------- layout
function cellSize(cfg) {
  const grid = $("row-forward").parentElement;
  const width = Math.max(560, grid.clientWidth - 16);
  const k = cfg.kernel_size;
  const m = cfg.input_size - k + 1;
  const q = Math.floor(m / cfg.pool_size);
  const wide = cfg.filters > 3 ? 2 : 1; // filters side by side, two per row
  const vectors = 1 + Math.min(cfg.filters * q * q, 6); // F drawn as a column, W2 as a row
  const cells = cfg.input_size + wide * (k + 2 * m + q) + vectors;
  const fixed = 110 + COLUMNS.length * 26 + 30; // scalar column, gaps and panel borders, row padding
  return Math.max(3, Math.min(40, Math.floor((width - fixed) / cells)));
}

function buildPanels(cfg) {
  const cell = cellSize(cfg);
  const D = cfg.filters * Math.floor((cfg.input_size - cfg.kernel_size + 1) / cfg.pool_size) ** 2;
  // Vectors get at most the length of X (F, a column) or of six cells (W2, b1, rows).
  // Cells may be fractions of a pixel there: the vector's whole length is what is bounded.
  const sizeOf = (name) => {
    if (["F", "dF"].includes(name)) return Math.min(cell, (cfg.input_size * cell) / D);
    if (["W2", "dW2"].includes(name)) return Math.min(cell, Math.max(6 * cell, 60) / D);
    if (["b1", "db1"].includes(name) && cfg.filters > 1) {
      return Math.min(cell, (3 * cell) / cfg.filters);
    }
    return cell;
  };
  views.clear();
  for (const [row, key] of [["row-forward", "forward"], ["row-backward", "backward"]]) {
    const container = $(row);
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
          <button type="button" class="png" title="Download as PNG">PNG</button></header>
          <div class="body"></div><div class="veil" aria-hidden="true">?</div>`;
        panel.querySelector(".name").textContent = name;
        panel.querySelector(".role").textContent = TITLES[name] || "";
        panel.querySelector(".png").setAttribute("aria-label", `Download ${name} as PNG`);
        panel.querySelector(".png").addEventListener("click", (event) => {
          event.stopPropagation(); // saving a picture is not a request to go to this step
          views.get(name).png(name);
        });
        panel.addEventListener("click", () => goToTensor(name));
        panel.tabIndex = 0;
        panel.setAttribute("aria-label", `${name}: Enter goes to its step, arrow keys inspect its cells`);
        panel.addEventListener("keydown", (event) => inspectWithKeys(event, name));
        const body = panel.querySelector(".body");
        if (cfg.filters > 3 && ["W1", "Z1", "A1", "P1", "dW1", "dZ1", "dA1", "dP1"].includes(name)) {
          body.classList.add("two-up");
        }
        views.set(name, new TensorView(body, {
          name, cell: sizeOf(name), vertical: ["F", "dF"].includes(name),
          onHover: showLinks, onLeave: clearLinks, onClick: paintCell,
        }));
        stack.append(panel);
      }
      container.append(stack);
    });
  }
}

// ------------------------------------------------------------------------- rendering
// A single number is drawn as a card; its colour compares it with a fixed yardstick (a
// probability with [0, 1], anything else with ±max(1, |v|)) rather than with itself.
function cardRange(name, value) {
  if (name === "A2") return { min: 0, max: 1, scale: "sequential" };
  if (name === "L") return { min: 0, max: Math.max(1, value), scale: "sequential" };
  const top = Math.max(1, Math.abs(value) || 0);
  return { min: -top, max: top, scale: "diverging" };
}

function renderTensors() {
  const { trace } = store.get();
  if (!trace) return;
  for (const [name, view] of views) {
    const value = trace.tensors[name];
    const single = Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1;
    const flat = single ? value[0] : value;
    view.render(flat, Array.isArray(flat) ? trace.ranges[name] : cardRange(name, flat));
  }
}

// MathML does not wrap: shrink a formula's type a little, and if it still does not fit,
// break it into lines before each top-level "=" (lhs = a / = b / = c), then shrink again.
// Sizes are computed from one measurement, not found by trial: each measurement is a layout.
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
  if (breakAtEquals(element)) shrinkTo(11);
  else shrinkTo(11);
}

const MATHML = "http://www.w3.org/1998/Math/MathML";
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
  // line 1: lhs = first expression; then one "= expression" per line
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

function revealed(state) {
  const names = new Set(INPUTS);
  const steps = state.trace ? state.trace.steps : [];
  for (const step of steps) {
    if (step.index <= state.cursor && step.phase !== "update") names.add(step.writes);
  }
  if (names.has("dW1")) names.add("dX"); // the conv's backward gives dX beside dW1
  return names;
}

function currentStep(state) {
  if (!state.trace || state.cursor < 0) return null;
  return state.trace.steps[state.cursor] || null;
}

function applyStep() {
  const state = store.get();
  const step = currentStep(state);
  const shown = revealed(state);
  const main = $("main");
  main.dataset.step = step ? step.writes : "start";
  main.dataset.phase = step ? step.phase : "start";
  for (const panel of document.querySelectorAll(".panel")) {
    const name = panel.dataset.tensor;
    panel.classList.toggle("pending", !shown.has(name));
    panel.classList.toggle("current", !!step && step.writes === name);
    panel.classList.toggle("reads", !!step && step.reads.includes(name));
  }
  for (const chip of document.querySelectorAll(".chip[data-index]")) {
    const index = Number(chip.dataset.index);
    chip.classList.toggle("current", index === state.cursor);
    chip.classList.toggle("done", index < state.cursor);
    chip.setAttribute("aria-current", index === state.cursor ? "step" : "false");
  }
  const total = state.trace ? state.trace.steps.length : 21;
  $("progress").textContent = step
    ? `Step ${step.index + 1} of ${total} · ${step.phase} · ${step.writes}` + (state.pass > 1 ? ` · pass ${state.pass}` : "")
    : `Start · ${total} steps` + (state.pass > 1 ? ` · pass ${state.pass}` : "");
  $("btn-prev").disabled = state.cursor < 0 && !state.history.length;
  explain(state, step);
  history.replaceState(null, "", encodeState(state));
}

function explain(state, step) {
  const n = state.trace ? state.trace.config.n_params : 15;
  $("explain-phase").textContent = step ? step.phase : "start";
  $("explain-phase").dataset.phase = step ? step.phase : "start";
  $("update-view").hidden = true;
  if (!step) {
    $("explain-title").textContent = "The input and the parameters";
    $("explain-formula").replaceChildren();
    $("explain-numbers").replaceChildren();
    $("explain-text").textContent = `X is the image and Y = ${state.y} its label. W1, b1, W2 and b2 are the ` +
      `${n} parameters the network learns. Press Next (→) to run the forward pass one operation at a time: ` +
      "each result stays hidden until its step, so you can predict it first.";
    $("explain-detail").textContent = "Hover any cell to see where its number comes from.";
    return;
  }
  $("explain-title").textContent = `Step ${step.index + 1}: ${step.phase === "update" ? "update " : ""}${step.writes}`;
  $("explain-formula").innerHTML = step.mathml;
  $("explain-numbers").innerHTML = step.mathml_numbers || "";
  fit($("explain-formula"), 17);
  fit($("explain-numbers"), 15);
  $("explain-text").textContent = step.text;
  $("explain-detail").textContent = step.phase === "update"
    ? "" : "Hover any cell to see where its number comes from.";
  if (step.phase === "update") showUpdate(state, step);
}

// The update view, W -> -η·dW -> new W, is drawn once per parameter and trace and then
// only shown or hidden, so stepping through the update draws nothing.
const updateViews = { trace: null, lr: null, rows: new Map() };

function updateRow(state, name) {
  const T = state.trace.tensors;
  const lr = state.lr;
  const scale = (v) => (Array.isArray(v) ? v.map(scale) : -lr * v);
  const after = state.after ? state.after.params[name] : null;
  const parts = [[name, T[name], "now"], [`−η·d${name}`, scale(T[`d${name}`]), `η = ${short(lr)}`],
    [`new ${name}`, after, "after the step"]];
  const row = document.createElement("div");
  row.className = "update-row";
  parts.forEach(([label, value, note], i) => {
    if (i > 0) row.append(Object.assign(document.createElement("span"), { className: "op", textContent: i === 1 ? "+" : "=" }));
    const cell = document.createElement("div");
    cell.className = "update-part";
    cell.innerHTML = `<div class="label"></div><div class="body"></div><div class="note"></div>`;
    cell.querySelector(".label").textContent = label;
    cell.querySelector(".note").textContent = note;
    row.append(cell);
    if (value !== null && value !== undefined) {
      const flat = Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value;
      const view = new TensorView(cell.querySelector(".body"), { name: label, cell: 26 });
      const top = Math.max(1e-12, ...[value].flat(Infinity).map(Math.abs));
      view.render(flat, { min: -top, max: top, scale: "diverging" });
    }
  });
  return row;
}

function showUpdate(state, step) {
  const box = $("update-view");
  box.hidden = false;
  prepareUpdate(state, step.writes);
  for (const [name, row] of updateViews.rows) row.hidden = name !== step.writes;
}

// Build the update row of one parameter (all four when name is omitted) while hidden.
function prepareUpdate(state, only) {
  const box = $("update-view");
  if (!state.trace) return;
  if (updateViews.trace !== state.trace || updateViews.lr !== state.lr) {
    box.replaceChildren();
    updateViews.rows.clear();
    updateViews.trace = state.trace;
    updateViews.lr = state.lr;
    const loss = document.createElement("p");
    loss.className = "loss-change";
    if (state.after) {
      const before = state.after.loss_before;
      const afterLoss = state.after.loss_after;
      loss.textContent = `Loss on this example: ${short(before)} before the update → ${short(afterLoss)} after ` +
        `(${afterLoss < before ? "lower" : "not lower"}).`;
    }
    box.append(loss);
  }
  for (const name of only ? [only] : ["W1", "b1", "W2", "b2"]) {
    if (updateViews.rows.has(name)) continue;
    const row = updateRow(state, name);
    row.hidden = true;
    box.insertBefore(row, box.lastChild);
    updateViews.rows.set(name, row);
  }
}

// --------------------------------------------------------------------------- linking
let linked = [];
function showLinks(name, index) {
  const state = store.get();
  if (!state.trace || !revealed(state).has(name)) return;
  const { marks, text } = linksFor(name, index, state.trace, state.trace.config, state.trace.winners);
  clearMarks();
  for (const [tensor, cells] of Object.entries(marks)) {
    const view = views.get(tensor);
    if (view && revealed(state).has(tensor)) {
      view.highlight(cells);
      linked.push(view);
    }
  }
  $("explain-detail").textContent = text;
}

function clearMarks() {
  for (const view of linked) view.highlight([]);
  linked = [];
}

function clearLinks() {
  clearMarks();
}

// Keyboard inspection: with a panel focused, arrows walk its cells as hovering would.
const probes = new Map(); // tensor name -> position in view.cells()
function inspectWithKeys(event, name) {
  const view = views.get(name);
  const cells = view.cells();
  const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: "row", ArrowUp: "-row" };
  if (event.key === "Enter") {
    goToTensor(name);
  } else if (event.key === "Escape") {
    clearMarks();
    event.currentTarget.blur();
  } else if (event.key in moves && cells.length) {
    const width = view.plots.length ? view.plots[0].plane.z[0].length : 1;
    const step = { row: width, "-row": -width }[moves[event.key]] ?? moves[event.key];
    const at = probes.has(name) ? probes.get(name) + step : 0;
    const next = Math.max(0, Math.min(cells.length - 1, at));
    probes.set(name, next);
    showLinks(name, cells[next]);
  } else {
    return;
  }
  event.preventDefault();
  event.stopPropagation();
}

// ---------------------------------------------------------------------------- editing
let paintHandler = null;
function paintCell(name, index) {
  if (name === "X" && paintHandler) paintHandler(index);
}

// --------------------------------------------------------------------------- stepping
function setCursor(cursor) {
  const { trace } = store.get();
  const last = trace ? trace.steps.length - 1 : 20;
  store.set({ cursor: Math.max(-1, Math.min(last, cursor)) });
  applyStep();
}

async function next() {
  const state = store.get();
  if (!state.trace) return;
  if (state.cursor < state.trace.steps.length - 1) {
    setCursor(state.cursor + 1);
    return;
  }
  // After the last update: the next forward pass, with the new parameters.
  if (!state.after) return;
  store.set({
    history: [...state.history, { params: state.params, paramsEdited: state.paramsEdited }],
    params: state.after.params, paramsEdited: true, cursor: 0, pass: state.pass + 1,
  });
  await recompute();
}

async function prev() {
  const state = store.get();
  if (state.cursor >= 0 || !state.history.length) {
    setCursor(state.cursor - 1);
    return;
  }
  // Back through the update: the previous pass's parameters, at its last step.
  const last = state.history[state.history.length - 1];
  store.set({
    history: state.history.slice(0, -1), params: last.params, paramsEdited: last.paramsEdited,
    pass: state.pass - 1, cursor: state.trace.steps.length - 1,
  });
  await recompute();
}

function goToTensor(name) {
  const { trace } = store.get();
  if (!trace) return;
  const step = trace.steps.find((s) => s.writes === name && s.phase !== "update");
  if (step) setCursor(step.index);
}

let timer = null;
function setPlaying(playing) {
  store.set({ playing });
  const button = $("btn-play");
  button.textContent = playing ? "⏸ Pause" : "▶ Play";
  button.setAttribute("aria-label", playing ? "Pause" : "Play");
  button.setAttribute("aria-pressed", String(playing));
  clearInterval(timer);
  if (playing) {
    timer = setInterval(() => {
      const s = store.get();
      if (s.busy) return;
      if (s.trace && s.cursor >= s.trace.steps.length - 1) {
        setPlaying(false);
        return;
      }
      next();
    }, Number($("speed").value));
  }
}

// ------------------------------------------------------------------------ computing
function requestBody(state) {
  const body = { config: state.config, x: state.x, y: state.y, seed: state.seed, lr: state.lr };
  if (state.paramsEdited && state.params) body.params = state.params;
  return body;
}

export async function recompute() {
  const state = store.get();
  if (!state.x) return;
  if (inflight) inflight.abort();
  inflight = new AbortController();
  const { signal } = inflight;
  store.set({ busy: true });
  document.body.classList.add("busy");
  try {
    const body = requestBody(state);
    const [trace, after] = await Promise.all([api.backward(body, signal), api.update(body, signal)]);
    const shapeChanged = !store.get().trace ||
      JSON.stringify(store.get().trace.config) !== JSON.stringify(trace.config);
    const cursor = Math.max(-1, Math.min(trace.steps.length - 1, store.get().cursor));
    store.set({ trace, after, params: trace.params, error: "", cursor });
    if (shapeChanged) buildPanels(trace.config);
    renderTensors();
    applyStep();
    // Draw the update view ahead, while the student reads, so the update steps are instant.
    const idle = window.requestIdleCallback || ((f) => setTimeout(f, 300));
    idle(() => prepareUpdate(store.get()));
    showError("");
  } catch (error) {
    if (error.name === "AbortError") return;
    store.set({ error: error.message });
    showError(error.message);
  } finally {
    if (!signal.aborted) {
      store.set({ busy: false });
      document.body.classList.remove("busy");
    }
  }
}

function showError(message) {
  for (const id of ["edit-error", "train-error"]) $(id).textContent = message;
  if (message) toast(message, true);
}

export function toast(message, isError = false) {
  const el = $("toast");
  el.textContent = message;
  el.classList.toggle("error", isError);
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), isError ? 6000 : 2500);
}

// -------------------------------------------------------------------------- pipeline
function buildPipeline(steps) {
  const box = $("pipeline");
  box.replaceChildren();
  const ops = { Z1: "Conv", A1: "ReLU", P1: "MaxPool", F: "Flatten", Z2: "Dense", A2: "σ", L: "Loss" };
  const lines = [
    { label: "forward", steps: steps.filter((s) => s.phase === "forward"), lead: "X" },
    { label: "backward", steps: steps.filter((s) => s.phase === "backward") },
    { label: "update", steps: steps.filter((s) => s.phase === "update") },
  ];
  const forward = document.createElement("div");
  forward.className = "line forward";
  const back = document.createElement("div");
  back.className = "line backward";
  const chip = (step) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `chip ${step.phase}`;
    b.dataset.index = String(step.index);
    b.textContent = step.phase === "update" ? `${step.writes}′` : step.writes;
    b.title = step.text;
    b.setAttribute("aria-label", `Go to step ${step.index + 1}: ${step.phase} ${step.writes}`);
    b.addEventListener("click", () => setCursor(step.index));
    return b;
  };
  const tag = (text, cls = "op") => Object.assign(document.createElement("span"), { className: cls, textContent: text });
  forward.append(tag("forward", "line-label"));
  const start = document.createElement("button");
  start.type = "button";
  start.className = "chip input";
  start.dataset.index = "-1";
  start.textContent = "X";
  start.setAttribute("aria-label", "Go to the start: the input X");
  start.addEventListener("click", () => setCursor(-1));
  forward.append(start);
  for (const step of lines[0].steps) {
    forward.append(tag(`→ ${ops[step.writes] || ""} →`), chip(step));
  }
  back.append(tag("backward", "line-label"));
  lines[1].steps.forEach((step, i) => {
    if (i) back.append(tag("→"));
    back.append(chip(step));
  });
  back.append(tag("update", "line-label gap"));
  lines[2].steps.forEach((step, i) => {
    if (i) back.append(tag(" "));
    back.append(chip(step));
  });
  box.append(forward, back);
}

// ------------------------------------------------------------------------------ start
function keyboard(event) {
  const target = event.target;
  if (target.closest && target.closest("input, select, textarea, [contenteditable]")) return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.key === "ArrowRight") next();
  else if (event.key === "ArrowLeft") prev();
  else if (event.key === " ") setPlaying(!store.get().playing);
  else if (event.key === "Home") setCursor(-1);
  else return;
  event.preventDefault();
}

async function start() {
  const fromUrl = decodeState(location.hash);
  store.set({ ...fromUrl });
  let meta;
  try {
    meta = await api.meta();
  } catch (error) {
    showError(`The server did not answer: ${error.message}`);
    return;
  }
  store.set({ meta });
  buildPipeline(meta.steps);
  const state = store.get();
  if (!state.x) {
    try {
      const presets = await api.presets(state.config.input_size);
      const chosen = presets.find((p) => p.name === state.presetName) || presets[0];
      store.set({ x: chosen.x, presetName: chosen.name, y: fromUrl.y ?? chosen.y });
    } catch (error) {
      store.set({ config: DEFAULTS.config });
      showError(`That link's settings were refused: ${error.message}`);
      const presets = await api.presets(DEFAULTS.config.input_size);
      store.set({ x: presets[0].x, presetName: presets[0].name, y: presets[0].y });
    }
  }
  const editors = setupEditors({ store, api, recompute, toast });
  paintHandler = editors.paint;
  setupTraining({ store, api, recompute, toast });
  setupGradcheck({ store, api, requestBody, toast });
  $("btn-next").addEventListener("click", next);
  $("btn-prev").addEventListener("click", prev);
  $("btn-reset").addEventListener("click", () => { setPlaying(false); setCursor(-1); });
  $("btn-play").addEventListener("click", () => setPlaying(!store.get().playing));
  $("speed").addEventListener("input", () => { if (store.get().playing) setPlaying(true); });
  $("btn-export").addEventListener("click", exportJson);
  $("btn-share").addEventListener("click", share);
  document.addEventListener("keydown", keyboard);
  window.addEventListener("resize", () => {
    const { trace } = store.get();
    if (!trace) return;
    clearTimeout(start.resize);
    start.resize = setTimeout(() => { buildPanels(trace.config); renderTensors(); applyStep(); }, 200);
  });
  await recompute();
  if (!store.get().trace) {
    // A link whose settings the server refuses: say why, then show the default view.
    const reason = store.get().error;
    const presets = await api.presets(DEFAULTS.config.input_size);
    const stroke = presets.find((p) => p.name === DEFAULTS.presetName) || presets[0];
    store.set({ ...DEFAULTS, x: stroke.x, presetName: stroke.name, y: stroke.y });
    await recompute();
    toast(`That link's settings were refused (${reason}); showing the default example instead.`, true);
  }
  editors.refresh();
  document.body.classList.add("ready");
  performance.mark("convlens-ready");
}

function exportJson() {
  const state = store.get();
  if (!state.trace) return;
  const blob = new Blob([JSON.stringify({
    config: state.trace.config, lr: state.lr, seed: state.seed, tensors: state.trace.tensors,
    steps: state.trace.steps, params_after: state.after && state.after.params,
    loss_after: state.after && state.after.loss_after,
  }, null, 1)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "convlens-trace.json";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

async function share() {
  try {
    await navigator.clipboard.writeText(location.href);
    toast("Link copied: it opens this exact view.");
  } catch {
    toast("Copy the address bar: it holds this exact view.");
  }
}

if (window.Plotly) start();
else window.addEventListener("load", start, { once: true });
