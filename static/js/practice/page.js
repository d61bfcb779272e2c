// The practice page: pick a step (or the whole pass), compute it by hand, check it.
// /practice?step=dA1 starts that step, /practice?chain=1 the whole pass; &seed=N picks the
// numbers, or #example=… (the explorer's "Practise this step") brings the walk's own.
// &network=<JSON> (or a network in the example) practises that network's steps instead of
// the seed's. The right answer stays on the server until it is revealed or answered right.

import { ApiError, exercises } from "../common/api.js";
import { AnswerGrid } from "./grid.js";
import { Givens } from "./givens.js";
import { scrollRegion, wrapFormula } from "../common/formula-lines.js";

const $ = (id) => document.getElementById(id);
const CHAIN = "chain";
// Steps whose answer is mostly given values moved around: a click on a value enters it
// (ReLU, max-pooling and flatten both ways, and a dense bias's gradient).
const ROUTING_KINDS = new Set(["relu", "maxpool", "flatten"]);
const routing = (step) => ROUTING_KINDS.has(step.kind) || (step.kind === "dense" && step.role === "db");
const PHASE_TITLES = { forward: "Forward pass", backward: "Backward pass", update: "Update",
  optimizer: "Updates with momentum / Adam", mean: "Averaging a batch" };

// example: the explorer walk's numbers ({config, x, y, lr, pass, params}) while practising
// on them; "New numbers" leaves them for drawn ones.
// network: the network's spec ({input, layers, output}) when it is not the seed's.
const state = { exercise: null, grid: null, catalogue: null, busy: false, example: null,
  network: null };
const givens = new Givens($("givens"), { onPick: (v) => state.grid && state.grid.enter(v) });

function say(html, kind = "") {
  const box = $("feedback");
  box.className = `feedback ${kind}`;
  box.innerHTML = html;
}

function escape(text) {
  const div = document.createElement("div");
  div.textContent = text;
  return div.innerHTML;
}

function fail(err) {
  const message = err instanceof ApiError ? err.message : String(err);
  say(`<strong>Something went wrong:</strong> ${escape(message)}`, "error");
}

// ------------------------------------------------------------------------------- URL
function wanted() {
  const params = new URLSearchParams(location.search);
  const seed = params.get("seed");
  const choice = params.get("chain") ? CHAIN : params.get("step") || "dA1";
  return { choice, seed: seed !== null && /^\d+$/.test(seed) ? Number(seed) : null,
    example: exampleOf(location.hash), network: jsonObject(params.get("network")) };
}

// A JSON object from the URL, or null (a broken one is left to the server to name).
function jsonObject(text) {
  if (!text) return null;
  try {
    const value = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

// The walk's example in the hash, or null (a broken one is left to the server to name).
function exampleOf(hash) {
  return jsonObject(new URLSearchParams(hash.replace(/^#/, "")).get("example"));
}

function remember(choice, seed) {
  const params = new URLSearchParams();
  if (choice === CHAIN) params.set("chain", "1");
  else params.set("step", choice);
  if (seed !== null) params.set("seed", String(seed));
  if (state.network && !(state.example && state.example.network)) {
    params.set("network", JSON.stringify(state.network));
  }
  const hash = state.example
    ? `#example=${encodeURIComponent(JSON.stringify(state.example))}` : "";
  history.replaceState(null, "", `${location.pathname}?${params}${hash}`);
}

function noteExample() {
  const note = $("example-note");
  const example = state.example;
  note.hidden = !example;
  note.textContent = example
    ? `The numbers of your walk in the explorer${example.pass > 1 ? `, pass ${example.pass}` : ""}: ` +
      "X, Y and the parameters you saw there. New numbers draws others."
    : "";
}

// ------------------------------------------------------------------------------ steps
// A step of the catalogue by name: a walk's step, or one beyond the walk (an update by
// momentum or Adam, a batch's mean), whose phase is its group.
function stepInfo(name) {
  const walk = state.catalogue.steps.find((s) => s.name === name);
  if (walk) return walk;
  const more = (state.catalogue.more_steps || []).find((s) => s.name === name);
  return more ? { ...more, phase: more.group, kind: "", role: more.group } : null;
}

// What the student computes: the walk's tensor, the parameter after an optimizer's update,
// or the batch's mean gradient.
function titleOf(step) {
  if (step.group === "optimizer") return `Compute the new ${step.param} (${step.title})`;
  if (step.group === "mean") return `Compute ${step.name}, the batch's mean of ${step.of}`;
  return `Compute ${step.name}`;
}

// The step's entry in the list of steps.
function optionText(step) {
  if (step.group === "optimizer") {
    return `${step.param} with ${step.optimizer === "adam" ? step.title : step.title.toLowerCase()}`;
  }
  if (step.group === "mean") return `${step.name} = (1/N)·Σ ${step.of}(n)`;
  if (step.phase === "update") return `${step.name} ← ${step.name} − η·d${step.name}`;
  return step.name;
}

// ----------------------------------------------------------------------------- drawing
// The step's formula, from the server's MathML, broken at its operators to fit its box (a
// phone's width too); drawn afresh at every resize, the lines being the width's.
function fitFormula() {
  if (!state.exercise) return;
  const box = $("task-formula");
  box.innerHTML = state.exercise.mathml;
  box.style.fontSize = "";
  // several formulas on one line (an optimizer's) break between them before inside one
  wrapFormula(box, parseFloat(getComputedStyle(box).fontSize), { spaces: true });
  scrollRegion(box, "Formula");
}
window.addEventListener("resize", () => fitFormula());
function show(exercise) {
  state.exercise = exercise;
  const step = stepInfo(exercise.step) || state.catalogue.steps[exercise.index];
  $("main").dataset.phase = step.phase;
  $("main").dataset.step = exercise.step;
  // an answer wider than four cells gets the page's whole width (the task above it)
  const columns = exercise.shape.length >= 2 ? exercise.shape[exercise.shape.length - 1] : 0;
  $("main").dataset.wide = String(columns > 4);
  $("task-phase").textContent = PHASE_TITLES[step.phase];
  $("task-title").textContent = titleOf(step);
  const own = exercise.config === null;
  $("network-note").hidden = !own;
  $("network-note").textContent = own ? `Your network: ${exercise.network.text}.` : "";
  fitFormula();
  $("task-prompt").textContent = exercise.prompt;
  const clickable = routing(step);
  $("click-note").hidden = !clickable;
  givens.render(exercise.given, exercise.ranges, { clickable, lr: exercise.lr });
  state.grid = new AnswerGrid($("answer-grid"), {
    name: step.group === "optimizer" ? step.param : exercise.step, shape: exercise.shape,
    onSubmit: check,
  });
  $("hints").replaceChildren();
  $("hints").classList.remove("past");
  exercise.hints.forEach(addHint);
  say("");
  if (exercise.state !== "open") {
    settleHints(exercise.state);
    state.grid.show(exercise.answer);
    say(exercise.state === "solved" ? "Solved." : "The answer, revealed.", exercise.state);
  }
  const chain = exercise.chain;
  $("chain-progress").textContent = chain
    ? `Whole pass: step ${chain.position + 1} of ${chain.steps.length} (${exercise.step})` : "";
  updateButtons();
}

function updateButtons() {
  const ex = state.exercise;
  const open = ex && ex.state === "open";
  $("btn-check").disabled = !open || state.busy;
  $("btn-zero").disabled = !open || state.busy;
  $("btn-reveal").disabled = !open || state.busy;
  const chain = ex && ex.chain;
  const more = chain && chain.position < chain.steps.length - 1;
  $("btn-next").hidden = !(chain && !open && more);
  $("btn-next").disabled = state.busy;
}

function addHint(hint) {
  const li = document.createElement("li");
  li.textContent = hint.text;
  li.dataset.level = hint.level;
  $("hints").append(li);
  givens.highlight(hint.feeds);
  state.grid.outline([hint.cell]);
}

async function run(action) {
  if (state.busy) return;
  state.busy = true;
  updateButtons();
  try {
    await action();
  } catch (err) {
    fail(err);
  } finally {
    state.busy = false;
    updateButtons();
  }
  // a step just finished in the whole pass: the next one is one Enter away
  if (!$("btn-next").hidden && state.exercise.state !== "open") $("btn-next").focus();
}

// The step is over: hints about a wrong cell no longer hold. Solved, they go; revealed,
// they stay for comparison, marked as about the earlier tries.
function settleHints(outcome) {
  if (outcome === "solved") $("hints").replaceChildren();
  else $("hints").classList.add("past");
}

// ----------------------------------------------------------------------------- actions
async function start(choice, seed = null) {
  const body = choice === CHAIN ? { chain: true } : { step: choice };
  if (seed !== null) body.seed = seed;
  const example = state.example;
  if (example) {
    if (example.network) body.network = example.network;
    else body.config = example.config;
    body.example = { x: example.x, y: example.y, lr: example.lr, params: example.params };
  } else if (state.network) {
    body.network = state.network;
  }
  const exercise = await exercises.create(body);
  remember(choice, seed);
  noteExample();
  show(exercise);
}

// New numbers: a drawn variant, leaving the walk's example behind.
function fresh() {
  state.example = null;
  return start($("pick-step").value);
}

function check() {
  if (!state.exercise || state.exercise.state !== "open") return;
  const read = state.grid.read();
  if (read.error) {
    say(`${escape(read.error)}: fill every cell before checking.`, "error");
    read.input.focus();
    return;
  }
  run(async () => {
    const result = await exercises.answer(state.exercise.id, read.answer);
    state.grid.mark(result.cells);
    const cells = [result.cells].flat(4);
    const right = cells.filter(Boolean).length;
    const parts = [];
    if (result.correct) {
      parts.push(`<strong>Right.</strong> All ${cells.length} ${cells.length === 1 ? "value is" : "cells are"} right.`);
    } else {
      parts.push(`<strong>${right} of ${cells.length}</strong> ${cells.length === 1 ? "value" : "cells"} right (${Math.round(result.score * 100)}%).`);
    }
    if (result.misconception) {
      parts.push(`<span class="misconception"><strong>${escape(result.misconception.title)}.</strong> ${escape(result.misconception.message)}</span>`);
    }
    say(parts.join(" "), result.correct ? "solved" : "wrong");
    if (result.hint) addHint(result.hint);
    state.exercise = { ...state.exercise, state: result.state, attempts: result.attempts };
    if (result.state !== "open") {
      settleHints(result.state);
      state.grid.lock();
      state.grid.outline([]);
      givens.highlight({});
      if (state.exercise.chain) {
        state.exercise.chain = { ...state.exercise.chain };
        state.exercise.chain.done[state.exercise.chain.position] = true;
      }
    }
  });
}

function reveal() {
  run(async () => {
    const exercise = await exercises.reveal(state.exercise.id);
    state.exercise = exercise;
    state.grid.show(exercise.answer);
    state.grid.outline([]);
    givens.highlight({});
    settleHints(exercise.state);
    const chain = exercise.chain;
    if (chain && chain.position < chain.steps.length - 1) {
      say("The answer, revealed. Compare it with yours, then press <strong>Next step</strong> to go on with the pass.", "revealed");
    } else {
      say("The answer, revealed. Compare it with yours, then press <strong>New numbers</strong> to try again.", "revealed");
    }
  });
}

function next() {
  run(async () => {
    show(await exercises.next(state.exercise.id));
    state.grid.focusFirst();
  });
}

// ------------------------------------------------------------------------------- setup
function fillPicker(catalogue, choice) {
  const select = $("pick-step");
  const groups = {};
  const more = (catalogue.more_steps || []).map((s) => ({ ...s, phase: s.group }));
  for (const step of [...catalogue.steps, ...more]) {
    if (!groups[step.phase]) {
      groups[step.phase] = document.createElement("optgroup");
      groups[step.phase].label = PHASE_TITLES[step.phase];
      select.append(groups[step.phase]);
    }
    const option = document.createElement("option");
    option.value = step.name;
    option.textContent = optionText(step);
    groups[step.phase].append(option);
  }
  const whole = document.createElement("option");
  whole.value = CHAIN;
  whole.textContent = "Whole pass, step by step";
  select.prepend(whole);
  select.value = choice;
}

async function main() {
  let { choice, seed, example, network } = wanted();
  state.example = example;
  state.network = (example && example.network) || network;
  let catalogue;
  try {
    catalogue = await exercises.catalogue(state.network);
  } catch (err) {
    if (!state.network) throw err;
    // a network the server refuses: say why, and practise the seed's network
    const why = err instanceof ApiError ? err.message : String(err);
    state.network = null;
    state.example = null;
    catalogue = await exercises.catalogue();
    say(`That network could not be used (${escape(why)}): here is the seed's.`, "error");
  }
  state.catalogue = catalogue;
  if (choice !== CHAIN && !stepInfo(choice)) {
    const instead = catalogue.steps.some((s) => s.name === "dA1") ? "dA1" : catalogue.steps[0].name;
    say(`There is no step “${escape(choice)}”; here is ${escape(instead)} instead.`, "error");
    choice = instead;
  }
  fillPicker(catalogue, choice);
  $("tolerance").textContent = `Grading: ${catalogue.tolerance.text}`;
  $("pick-step").addEventListener("change", (ev) => run(() => start(ev.target.value)));
  $("btn-new").addEventListener("click", () => run(fresh));
  $("btn-check").addEventListener("click", check);
  $("btn-zero").addEventListener("click", () => state.grid && state.grid.fillEmpty(0));
  $("btn-reveal").addEventListener("click", reveal);
  $("btn-next").addEventListener("click", next);
  let note = $("feedback").innerHTML;
  try {
    await start(choice, seed);
  } catch (err) {
    if (!state.example) throw err;
    // a link whose numbers the server refuses still opens the step, on drawn numbers
    state.example = null;
    await start(choice, seed);
    const why = err instanceof ApiError ? err.message : String(err);
    note = `The explorer's numbers could not be used (${escape(why)}): these are new ones.`;
  }
  if (note) say(note, "error");
  $("main").setAttribute("aria-busy", "false");
  document.body.classList.add("ready");
}

main().catch((err) => {
  fail(err);
  document.body.classList.add("ready");
});
