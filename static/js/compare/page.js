// Compare mode's page: choose a switch (or type two walks), Start, then step both walks
// together. The server holds the comparison; every move is one request, and the page draws
// only what the answers hold: each side's step, the cells where the two differ, and the
// engine's sentence on what the switch changed here.

import { ApiError, api } from "../common/api.js";
import { short } from "../common/format.js";
import { networkSpec } from "../explorer/url.js";
import { compareApi } from "./client.js";
import { pairPng } from "./png.js";
import { createSide, differsText, focusOf } from "./side.js";
import { applyMove, decodeLink, encodeLink, moving, sideLabels } from "./walks.js";

const $ = (id) => document.getElementById(id);
const BY_HAND = "";

let meta = null;
let state = null; // the comparison's view, as moves have changed it
let start = null; // what was asked for: {switch, base} or {switch: null, a, b}
let example = 0; // the example a batch walk shows
let sides = null;
let layout = "";
let chain = Promise.resolve();

function toast(text, error = false) {
  const el = $("toast");
  el.textContent = text;
  el.classList.toggle("error", error);
  el.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => el.classList.remove("show"), error ? 6000 : 2500);
}

const showError = (error) => toast(error instanceof ApiError ? error.message : `Something went wrong: ${error.message}`, true);

// Moves go one after another, in the order pressed.
function enqueue(job) {
  const run = chain.then(job).catch(showError);
  chain = run;
  return run;
}

// ------------------------------------------------------------------------ the setup
function fillSetup() {
  const select = $("switch");
  for (const s of meta.switches) select.append(new Option(s.title, s.name));
  select.append(new Option("Two networks by hand", BY_HAND));
  const seed = networkSpec(meta.default_network);
  $("hand-a").value = JSON.stringify({ network: seed }, null, 1);
  const averaged = { ...seed, layers: seed.layers.map((l) => (l.type === "maxpool" ? { ...l, type: "avgpool" } : l)) };
  $("hand-b").value = JSON.stringify({ network: averaged }, null, 1);
  select.addEventListener("change", showChoice);
  showChoice();
}

function showChoice() {
  const name = $("switch").value;
  const chosen = meta.switches.find((s) => s.name === name);
  $("switch-description").textContent = chosen ? chosen.description
    : "Type two walks (each what POST /api/sessions takes); b gets a's weights wherever the shapes match.";
  $("by-switch").hidden = name === BY_HAND;
  $("by-hand").hidden = name !== BY_HAND;
}

function readWalk(id, what) {
  const text = $(id).value.trim();
  if (!text) return {};
  let value;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new Error(`${what} is not JSON: ${error.message}`);
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value;
}

function askedFor() {
  const name = $("switch").value;
  if (name === BY_HAND) return { switch: null, a: readWalk("hand-a", "Network a"), b: readWalk("hand-b", "Network b") };
  return { switch: name, base: readWalk("base", "The base walk") };
}

function showAsked(asked) {
  if (asked.switch && ![...$("switch").options].some((o) => o.value === asked.switch)) return;
  $("switch").value = asked.switch || BY_HAND;
  if (asked.switch) {
    const base = asked.base || {};
    $("base").value = Object.keys(base).length ? JSON.stringify(base) : "";
    if (Object.keys(base).length) $("by-switch").querySelector("details").open = true;
  } else {
    $("hand-a").value = JSON.stringify(asked.a, null, 1);
    $("hand-b").value = JSON.stringify(asked.b, null, 1);
  }
  showChoice();
}

async function open(asked, at = { epoch: 0, position: -1, example: 0 }) {
  $("setup-error").textContent = "";
  const body = asked.switch ? { base: asked.base, switch: asked.switch } : { a: asked.a, b: asked.b };
  let view;
  try {
    view = await compareApi.create(body);
  } catch (error) {
    $("setup-error").textContent = error instanceof ApiError ? `Refused: ${error.message}` : error.message;
    return false;
  }
  if (state) compareApi.remove(state.id).catch(() => {}); // the comparison it replaces
  start = asked;
  example = Math.min(at.example, Math.max(view.a.batch || 1, view.b.batch || 1) - 1);
  if (at.epoch || at.position >= 0 || example) {
    const position = Math.min(Math.max(at.epoch ? 0 : -1, at.position), view.positions.length - 1);
    try {
      view = await compareApi.goto(view.id, at.epoch, position, example);
    } catch (error) {
      toast(`That link's step was refused (${error.message}); showing the start.`, true);
    }
  }
  show(view);
  return true;
}

// ----------------------------------------------------------------------- drawing
function show(next) {
  state = next;
  $("main").hidden = false;
  const signature = JSON.stringify([state.a.network.nodes, state.a.network.shapes, state.b.network.nodes, state.b.network.shapes]);
  if (signature !== layout) {
    sides.a.build(state.a);
    sides.b.build(state.b);
    layout = signature;
  }
  const labels = sideLabels(state.a, state.b, meta);
  const [movesA, movesB] = moving(state);
  const waits = { a: state.position >= 0 && !movesA, b: state.position >= 0 && !movesB };
  const range = sharedRange(waits);
  $("focus-scale").textContent = range ? `Both ${focusOf(state.a).name} on one colour scale, ${short(range.min)} to ${short(range.max)}.` : "";
  for (const [k, label] of [["a", labels[0]], ["b", labels[1]]]) {
    sides[k].render(state[k], { differs: state.differs, waits: waits[k], label, range });
    exampleChoice(k, state[k]);
  }
  $("explain").textContent = state.explain;
  $("inspect").textContent = "";
  const total = state.positions.length;
  const pass = state.epoch > 0 ? ` · pass ${state.epoch + 1}` : "";
  $("progress").textContent = state.position < 0 ? `Start · ${total} positions${pass}`
    : `Position ${state.position + 1} of ${total}${pass}`;
  const atStart = state.epoch === 0 && state.position < 0;
  const atEnd = state.position === total - 1 && state.epoch >= meta.session_max_epochs;
  $("btn-prev").disabled = atStart;
  $("btn-next").disabled = atEnd;
  $("btn-reset").disabled = false;
  $("btn-link").disabled = false;
  $("btn-png").disabled = false;
  clearTimeout(show.url);
  show.url = setTimeout(() => history.replaceState(null, "", compareApi.pagePath + encodeLink(start, { ...state, example })), 120);
}

// The step's pair on one colour range, so that one colour is one number on both sides: the
// two ranges the server computed, joined (where both sides show the same tensor on the same
// kind of scale).
function sharedRange(waits) {
  if (waits.a || waits.b) return null;
  const fa = focusOf(state.a);
  const fb = focusOf(state.b);
  const [ra, rb] = [fa.range, fb.range];
  if (fa.key !== fb.key || !ra || !rb || ra.scale !== rb.scale) return null;
  return { ...ra, min: Math.min(ra.min, rb.min), max: Math.max(ra.max, rb.max) };
}

// A batch walk's example selector: which example's tensors its side shows.
function exampleChoice(k, walk) {
  const label = $(`side-${k}`).querySelector(".side-example");
  const batch = walk.batch || 1;
  label.hidden = batch < 2;
  if (batch < 2) return;
  const select = label.querySelector("select");
  if (select.options.length !== batch) {
    select.replaceChildren(...Array.from({ length: batch }, (_, n) => new Option(`${n + 1} of ${batch}`, String(n))));
  }
  select.value = String(Math.min(example, batch - 1));
}

function chooseExample(n) {
  example = n;
  enqueue(async () => show(await compareApi.view(state.id, example)));
}

// ------------------------------------------------------------------------ moving
async function applied(move) {
  const next = applyMove(state, move);
  show(next || await compareApi.view(state.id, example)); // a new pass: the whole view
}

const next = () => enqueue(async () => {
  if (!state || $("btn-next").disabled) return;
  await applied(await compareApi.next(state.id, example));
});
const prev = () => enqueue(async () => {
  if (!state || (state.epoch === 0 && state.position < 0)) return;
  await applied(await compareApi.prev(state.id, example));
});
const reset = () => enqueue(async () => {
  if (!state) return;
  show(await compareApi.reset(state.id));
});

// ------------------------------------------------------------------- inspecting
function valueAt(walk, name, index) {
  let value = name.startsWith("new ") ? (walk.update && walk.update.after) : walk.tensors[name];
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 && index.length === 0) return value[0];
  for (const i of index) {
    if (!Array.isArray(value)) break;
    value = value[i];
  }
  return typeof value === "number" ? value : undefined;
}

function inspect(name, index) {
  if (!name || !state) {
    $("inspect").textContent = "";
    return;
  }
  const where = `${name}${index.length ? `[${index.join(",")}]` : ""}`;
  const a = valueAt(state.a, name, index);
  const b = valueAt(state.b, name, index);
  const cells = state.differs[name];
  const differ = Array.isArray(cells) && cells.some((c) => c.join(",") === index.join(","));
  const said = (v, k) => (v === undefined ? `${k} has none here` : `${k} = ${v}`);
  $("inspect").textContent = `${where}: ${said(a, "a")}, ${said(b, "b")}` +
    (a !== undefined && b !== undefined ? (differ ? " (they differ)" : " (the same)") : "");
}

// ---------------------------------------------------------------------- exports
function png() {
  if (!state) return;
  const labels = sideLabels(state.a, state.b, meta);
  const [movesA, movesB] = moving(state);
  const pair = ["a", "b"].map((k, i) => {
    const waits = state.position >= 0 && ![movesA, movesB][i];
    const walk = state[k];
    const focus = focusOf(walk);
    const step = walk.step;
    return {
      title: `${k} · ${labels[i]}`,
      subtitle: walk.network.text,
      name: waits ? `${focus.name} (waits)` : `${focus.name}${step ? ` · step ${step.index + 1}, ${step.phase}` : " · the input"}` +
        (differsText(state.differs[focus.key]) ? ` · ${differsText(state.differs[focus.key])}` : ""),
      view: waits ? null : sides[k].focus(),
      differs: state.differs[focus.key],
    };
  });
  const step = (state.b.step || state.a.step);
  pairPng(`compare-${state.switch || "networks"}-${step ? step.writes : "start"}`, pair, state.explain);
}

async function link() {
  history.replaceState(null, "", compareApi.pagePath + encodeLink(start, { ...state, example }));
  try {
    await navigator.clipboard.writeText(location.href);
    toast("Link copied: it opens both walks at this step.");
  } catch {
    toast("Copy the address bar: it holds both walks and this step.");
  }
}

function panelPng(letter, name, view) {
  const labels = sideLabels(state.a, state.b, meta);
  view.png(`${letter}-${name}`, `network ${letter} · ${labels[letter === "a" ? 0 : 1]} · ${$("progress").textContent}`);
}

// ------------------------------------------------------------------------- start
async function main() {
  meta = await api.meta();
  sides = Object.fromEntries(["a", "b"].map((k) => [k, createSide({
    letter: k, root: $(`side-${k}`), walkRoot: $(`walk-${k}`), meta, onInspect: inspect, onPng: panelPng,
  })]));
  fillSetup();
  for (const k of ["a", "b"]) {
    $(`side-${k}`).querySelector(".side-example select").addEventListener("change", (event) => chooseExample(Number(event.target.value)));
  }
  $("setup").addEventListener("submit", async (event) => {
    event.preventDefault();
    let asked;
    try {
      asked = askedFor();
    } catch (error) {
      $("setup-error").textContent = error.message;
      return;
    }
    await enqueue(async () => {
      if (await open(asked)) $("pair").focus({ preventScroll: true });
    });
  });
  $("btn-next").addEventListener("click", next);
  $("btn-prev").addEventListener("click", prev);
  $("btn-reset").addEventListener("click", reset);
  $("btn-png").addEventListener("click", png);
  $("btn-link").addEventListener("click", link);
  $("btn-tables").addEventListener("click", () => {
    const on = !document.body.classList.contains("show-tables");
    document.body.classList.toggle("show-tables", on);
    $("btn-tables").setAttribute("aria-pressed", String(on));
  });
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (!state || event.altKey || event.ctrlKey || event.metaKey) return;
    if (target.closest && target.closest("input, select, textarea, [contenteditable]")) return;
    if (event.key === "ArrowRight") next();
    else if (event.key === "ArrowLeft") prev();
    else return;
    event.preventDefault();
  });
  window.addEventListener("resize", () => {
    clearTimeout(main.resize);
    main.resize = setTimeout(() => {
      if (!state) return;
      layout = "";
      show(state);
    }, 200);
  });
  const fromLink = decodeLink(location.search);
  if (fromLink) {
    showAsked(fromLink.start);
    await enqueue(() => open(fromLink.start, fromLink.at));
  }
  requestAnimationFrame(() => document.body.classList.add("ready"));
}

main().catch((error) => toast(`The server did not answer: ${error.message}`, true));
