// The explorer page: wires the store, the walk on the server, the panels, the explanation,
// the highlighting and the drawers together. It holds no rule of its own about what a step
// reveals: it draws what the session's answers hold.

import { api } from "../common/api.js";
import { createStore } from "../common/store.js";
import { createStepping } from "./stepping.js";
import { createPanels } from "./panels.js";
import { createExplain } from "./explain.js";
import { createHighlight } from "./highlight.js";
import { decodeState, encodeState, networkSpec } from "./url.js";
import { setupEditors } from "./edit.js";
import { setupTraining } from "./train.js";
import { setupGradcheck } from "./gradcheck.js";
import { createBatchView } from "./batch.js";

const $ = (id) => document.getElementById(id);

// walk: the session as its last answer described it; start: how the walk began (for links).
const store = createStore({ meta: null, walk: null, start: { presetName: "vertical_stroke", params: null }, playing: false });

export function toast(message, isError = false) {
  const el = $("toast");
  el.textContent = message;
  el.classList.toggle("error", isError);
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), isError ? 6000 : 2500);
}

function showError(error) {
  const message = error && error.message ? error.message : String(error);
  for (const id of ["edit-error", "train-error"]) $(id).textContent = message;
  toast(message, true);
}

// -------------------------------------------------------------------------- pipeline
// The operation before each forward chip, from the network's nodes (their labels): the
// seed's reads "conv 3×3 ×1", "ReLU", "max-pool 2×2", "flatten", "dense 1", "σ", "BCE".
export function operations(network) {
  const ops = {};
  const nodes = network.nodes;
  for (const node of nodes.slice(0, -1)) ops[node.writes] = node.label;
  const output = nodes[nodes.length - 1];
  const [prediction, loss] = output.label.split(" + ");
  ops[output.writes] = prediction;
  ops.L = loss ? `${loss} loss` : "loss";
  return ops;
}

function buildPipeline(steps, network, goto) {
  const box = $("pipeline");
  box.replaceChildren();
  const ops = operations(network);
  const line = (cls) => Object.assign(document.createElement("div"), { className: `line ${cls}` });
  const tag = (text, cls = "op") => Object.assign(document.createElement("span"), { className: cls, textContent: text });
  const chip = (index, text, label, cls, title) => {
    const b = document.createElement("button");
    b.type = "button";
    b.className = `chip ${cls}`;
    b.dataset.index = String(index);
    b.textContent = text;
    if (title) b.title = title;
    b.setAttribute("aria-label", label);
    b.tabIndex = -1; // one tab stop for the whole pipeline (markPipeline gives it out)
    b.addEventListener("click", () => goto(index));
    return b;
  };
  const forward = line("forward");
  const back = line("backward");
  forward.append(tag("forward", "line-label"), chip(-1, "X", "Go to the start of this pass: the input X", "input"));
  for (const s of steps.filter((x) => x.phase === "forward")) {
    forward.append(tag(`→ ${ops[s.writes] || ""} →`), chip(s.index, s.writes, `Go to step ${s.index + 1}: forward ${s.writes}`, s.phase, s.text));
  }
  back.append(tag("backward", "line-label"));
  steps.filter((x) => x.phase === "backward").forEach((s, i) => {
    if (i) back.append(tag("→"));
    back.append(chip(s.index, s.writes, `Go to step ${s.index + 1}: backward ${s.writes}`, s.phase, s.text));
  });
  back.append(tag("update", "line-label gap"));
  steps.filter((x) => x.phase === "update").forEach((s, i) => {
    if (i) back.append(tag(" "));
    back.append(chip(s.index, `${s.writes}′`, `Go to step ${s.index + 1}: update ${s.writes}`, s.phase, s.text));
  });
  box.append(forward, back);
}

// The pipeline is one tab stop (a roving tabindex): Tab reaches the current step's chip,
// the arrow keys move along the chips (Home, End: the first, the last), Enter or Space
// presses the chip as a click does.
function rove(chip) {
  for (const other of document.querySelectorAll("#pipeline .chip")) other.tabIndex = other === chip ? 0 : -1;
  chip.focus();
}

function setupPipelineKeys() {
  $("pipeline").addEventListener("keydown", (event) => {
    const chips = [...document.querySelectorAll("#pipeline .chip")];
    const at = chips.indexOf(event.target);
    if (at < 0 || event.altKey || event.ctrlKey || event.metaKey) return;
    const to = { ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1, Home: 0, End: chips.length - 1 }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    event.stopPropagation(); // not the page's own arrow keys, which step the walk
    rove(chips[Math.max(0, Math.min(chips.length - 1, to))]);
  });
}

function markPipeline(walk) {
  const roving = $("pipeline").contains(document.activeElement);
  for (const chip of document.querySelectorAll(".chip[data-index]")) {
    const index = Number(chip.dataset.index);
    chip.classList.toggle("current", index === walk.cursor);
    chip.classList.toggle("done", index < walk.cursor);
    chip.setAttribute("aria-current", index === walk.cursor ? "step" : "false");
    // the tab stop follows the walk, unless the keyboard is moving along the chips
    if (!roving) chip.tabIndex = index === Math.max(walk.cursor, walk.epoch > 0 ? 0 : -1) ? 0 : -1;
  }
  if (!document.querySelector("#pipeline .chip[tabindex='0']")) {
    const first = document.querySelector("#pipeline .chip");
    if (first && !roving) first.tabIndex = 0;
  }
}

// ------------------------------------------------------------------------------ start
// The session's body from a link's state: what the link does not say, the server's
// defaults fill in (the vertical stroke, Y = 1, the default η and seed).
function startBody(state) {
  const body = {};
  for (const key of ["config", "network", "x", "y", "lr", "seed", "params", "optimizer"]) {
    if (state[key] !== undefined && state[key] !== null) body[key] = state[key];
  }
  return body;
}

const DEFAULT_PRESET = "vertical_stroke"; // what POST /api/sessions takes when x is not given

async function openWalk(fromUrl) {
  const state = { ...fromUrl };
  let presetName = state.presetName === undefined ? DEFAULT_PRESET : state.presetName;
  if (!state.x && presetName && presetName !== DEFAULT_PRESET) {
    const size = state.network ? state.network.input.size
      : state.config ? state.config.input_size : (await api.meta()).defaults.input_size;
    const presets = await api.presets(size);
    const chosen = presets.find((p) => p.name === presetName);
    if (chosen) {
      state.x = chosen.x;
      if (state.y === undefined) state.y = chosen.y;
    } else {
      presetName = DEFAULT_PRESET;
    }
  }
  let view = await api.createSession(startBody(state));
  const epoch = Math.max(0, fromUrl.epoch || 0);
  const cursor = Math.max(epoch > 0 ? 0 : -1, Math.min(view.steps.length - 1, fromUrl.cursor ?? -1));
  const example = view.batch > 1 ? Math.max(0, Math.min(view.batch - 1, fromUrl.example || 0)) : 0;
  if (epoch !== 0 || cursor !== -1 || example) view = await api.goto(view.id, epoch, cursor, example);
  // a link's mini-batch: its examples, for the Edit drawer (which edits them one by one)
  const batch = view.batch > 1 ? state.x.map((x, i) => ({ x, y: state.y[i], title: `example ${i + 1} of the link` })) : null;
  return { view, start: { presetName: batch ? null : presetName, params: state.params || null, batch } };
}

async function start() {
  // The page's facts and the walk, asked for at once.
  const fromUrl = decodeState(location.hash, location.search);
  const walk = openWalk(fromUrl).catch(async (error) => {
    toast(`That link's settings were refused (${error.message}); showing the default example instead.`, true);
    return openWalk({});
  });
  const meta = await api.meta();
  store.set({ meta });
  const opened = await walk;

  let playing = null;
  const stepping = createStepping({ store, api, onError: showError });
  const detail = () => $("explain-detail");
  let highlight = null;
  let paint = () => false;
  const panels = createPanels({
    meta,
    onHover: (name, index) => highlight.hover(name, index),
    onLeave: () => highlight.leave(),
    onClick: (name, index) => { if (!(name === "X" && paint(index))) highlight.pin(name, index); },
    onKey: (event, name) => inspectWithKeys(event, name),
    onPng: (name) => {
      const title = panels.title(name);
      panels.view(name).png(name, `${title} · ${$("progress").textContent}`);
    },
  });
  highlight = createHighlight({ store, api, panels, detail, run: stepping.run });
  const explain = createExplain({ api, toast });
  const batchView = createBatchView({ store, stepping });

  // Keyboard inspection: with a panel focused, arrows walk its cells as hovering would.
  const probes = new Map();
  function inspectWithKeys(event, name) {
    const view = panels.view(name);
    const cells = view.cells();
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: "row", ArrowUp: "-row" };
    if (event.key === "Enter" && probes.has(name)) {
      highlight.pin(name, cells[probes.get(name)]);
    } else if (event.key === "Escape") {
      highlight.unpin();
      // with a drawer open (painting X in Edit), Escape is the page's: it closes the drawer
      if (document.querySelector(".drawer:not([hidden]), .modal:not([hidden])")) return;
      event.currentTarget.blur();
    } else if (event.key in moves && cells.length) {
      const width = view.width();
      const step = { row: width, "-row": -width }[moves[event.key]] ?? moves[event.key];
      const at = probes.has(name) ? probes.get(name) + step : 0;
      const next = Math.max(0, Math.min(cells.length - 1, at));
      probes.set(name, next);
      highlight.hover(name, cells[next]);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  // The address bar follows the walk, written once the keys rest (browsers limit how
  // often a page may rewrite it, and it need not change between two quick presses).
  let urlTimer = null;
  function saveUrl() {
    clearTimeout(urlTimer);
    // the hash holds the whole state (a network from /?network= moves into it)
    urlTimer = setTimeout(() => history.replaceState(null, "", location.pathname + encodeState(store.get().start, store.get().walk)), 120);
  }

  let shape = "";
  let pipeline = "";
  store.subscribe((s, prev) => {
    if (s.walk === prev.walk) return;
    const walk = s.walk;
    // the network's layout: its nodes and shapes (a new network, a new layout)
    const signature = JSON.stringify([walk.network.nodes, walk.network.shapes]);
    if (signature !== shape) {
      panels.build(walk);
      shape = signature;
    }
    const chips = JSON.stringify([walk.network.nodes, walk.steps.map((x) => [x.phase, x.writes])]);
    if (chips !== pipeline) {
      buildPipeline(walk.steps, walk.network, (index) => stepping.goto(index));
      pipeline = chips;
    }
    const sameValues = prev.walk && prev.walk.id === walk.id && prev.walk.epoch === walk.epoch && prev.walk.params === walk.params
      && prev.walk.example === walk.example;
    highlight.reset(!sameValues || prev.walk.tensors.X !== walk.tensors.X);
    probes.clear();
    // The explanation first: it measures its formulas, which lays out only what changed so
    // far (the explanation), not the panels as well.
    explain.render(walk);
    batchView.render(walk);
    panels.render(walk);
    markPipeline(walk);
    highlight.prefetch();
    // On a narrow screen the panels stack far down the page: bring the step's result into
    // view as it is computed (only when it has moved: stepping must not jump the page).
    if (walk !== prev.walk && window.innerWidth < 700 && (!prev.walk || prev.walk.cursor !== walk.cursor)) {
      const current = document.querySelector(".panel.current");
      if (current) current.scrollIntoView({ block: "nearest" });
    }
    $("btn-prev").disabled = walk.epoch === 0 && walk.cursor < 0;
    saveUrl();
  });
  store.subscribe((s, prev) => {
    if (s.start !== prev.start && s.walk) saveUrl();
  });

  setupPipelineKeys();
  // "Skip to the step": the keyboard lands on the step's result (at the start, on X).
  $("skip-link").addEventListener("click", (event) => {
    const target = document.querySelector(".panel.current") || document.querySelector(".panel[tabindex='0']") || $("main");
    event.preventDefault();
    target.focus();
    target.scrollIntoView({ block: "nearest" });
  });
  store.set({ start: opened.start });
  stepping.applyView(opened.view);

  const editors = setupEditors({ store, api, stepping, toast });
  paint = editors.paint;
  setupTraining({ store, api, stepping, toast });
  setupGradcheck({ store, api, stepping, toast });
  store.set({ walk: { ...store.get().walk } }); // let the late subscribers see the walk

  function setPlaying(on) {
    const button = $("btn-play");
    button.textContent = on ? "⏸ Pause" : "▶ Play";
    button.setAttribute("aria-label", on ? "Pause" : "Play");
    button.setAttribute("aria-pressed", String(on));
    clearInterval(playing);
    playing = null;
    if (!on) return;
    playing = setInterval(() => {
      const w = store.get().walk;
      if (w.cursor >= w.steps.length - 1) {
        setPlaying(false);
        return;
      }
      if (!stepping.busy()) stepping.next(); // a slow answer is not overtaken by the next tick
    }, Number($("speed").value));
  }

  const refreshEditors = () => stepping.settled().then(() => editors.refresh());
  $("btn-next").addEventListener("click", () => stepping.next());
  $("btn-prev").addEventListener("click", () => stepping.prev());
  $("btn-reset").addEventListener("click", () => { setPlaying(false); stepping.reset(); refreshEditors(); });
  $("btn-restart").addEventListener("click", () => { setPlaying(false); stepping.restartPass(); });
  $("btn-play").addEventListener("click", () => setPlaying(playing === null));
  $("speed").addEventListener("input", () => { if (playing !== null) setPlaying(true); });
  $("btn-export").addEventListener("click", exportJson);
  $("btn-share").addEventListener("click", share);
  $("btn-lesson").addEventListener("click", lessonFile);
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.key === "Escape") {
      const open = [...document.querySelectorAll(".drawer:not([hidden]), .modal:not([hidden])")];
      for (const el of open) el.hidden = true;
      for (const b of document.querySelectorAll("[data-drawer]")) b.setAttribute("aria-expanded", "false");
      document.body.classList.remove("drawer-open");
      // The keyboard goes back to the button that opened what was closed.
      const drawer = open.find((el) => el.id.startsWith("drawer-"));
      if (drawer) document.querySelector(`[data-drawer="${drawer.id.slice(7)}"]`).focus();
      else if (open.some((el) => el.id === "gradcheck")) $("btn-gradcheck").focus();
      highlight.unpin();
      return;
    }
    if (target.closest && target.closest("input, select, textarea, [contenteditable]")) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.key === "ArrowRight") stepping.next();
    else if (event.key === "ArrowLeft") stepping.prev();
    else if (event.key === " " && !(target.closest && target.closest("button, a"))) setPlaying(playing === null);
    else if (event.key === "Home") stepping.restartPass();
    else return;
    event.preventDefault();
  });
  window.addEventListener("resize", () => {
    clearTimeout(start.resize);
    start.resize = setTimeout(() => {
      shape = "";
      store.set({ walk: { ...store.get().walk } });
    }, 200);
  });
  editors.refresh();
  requestAnimationFrame(() => {
    document.body.classList.add("ready");
    performance.mark("convlens-ready");
  });
}

// What the walk has shown so far, and nothing beyond it.
function exportJson() {
  const { walk } = store.get();
  const blob = new Blob([JSON.stringify({
    config: walk.config, network: networkSpec(walk.network), lr: walk.lr, seed: walk.seed, pass: walk.epoch + 1, cursor: walk.cursor,
    tensors: walk.tensors, steps: walk.steps.slice(0, walk.cursor + 1), update: walk.update,
  }, null, 1)], { type: "application/json" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "convlens-walk.json";
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

// The default lesson on this walk's example, for `convlens demo --script`; what to check
// before class is listed at the file's top.
async function lessonFile() {
  const { walk } = store.get();
  try {
    const blob = await api.lessonFile(walk.id);
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = "convlens-lesson.toml";
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
    toast("Lesson file saved: run it with convlens demo --script convlens-lesson.toml.");
  } catch (error) {
    showError(error);
  }
}

async function share() {
  try {
    await navigator.clipboard.writeText(location.href);
    toast("Link copied: it opens this exact view.");
  } catch {
    toast("Copy the address bar: it holds this exact view.");
  }
}

start().catch((error) => showError(new Error(`The server did not answer: ${error.message}`)));
