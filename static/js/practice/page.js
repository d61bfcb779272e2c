// The practice page: pick a step (or the whole pass), compute it by hand, check it.
// /practice?step=dA1 starts that step, /practice?chain=1 the whole pass; &seed=N picks the
// numbers, or #example=… (the explorer's "Practise this step") brings the walk's own. The
// right answer stays on the server until it is revealed or answered right.

import { ApiError, exercises } from "../common/api.js";
import { AnswerGrid } from "./grid.js";
import { Givens } from "./givens.js";
import { scrollRegion, wrapFormula } from "../common/formula-lines.js";

const $ = (id) => document.getElementById(id);
const CHAIN = "chain";
// Steps whose answer is mostly given values moved around: a click on a value enters it.
const ROUTING = new Set(["A1", "P1", "F", "dP1", "dA1", "dZ1", "db2"]);
const PHASE_TITLES = { forward: "Forward pass", backward: "Backward pass", update: "Update" };

// example: the explorer walk's numbers ({config, x, y, lr, pass, params}) while practising
// on them; "New numbers" leaves them for drawn ones.
const state = { exercise: null, grid: null, catalogue: null, busy: false, example: null };
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
    example: exampleOf(location.hash) };
}

// The walk's example in the hash, or null (a broken one is left to the server to name).
function exampleOf(hash) {
  const text = new URLSearchParams(hash.replace(/^#/, "")).get("example");
  if (!text) return null;
  try {
    const example = JSON.parse(text);
    return example && typeof example === "object" ? example : null;
  } catch {
    return null;
  }
}

function remember(choice, seed) {
  const params = new URLSearchParams();
  if (choice === CHAIN) params.set("chain", "1");
  else params.set("step", choice);
  if (seed !== null) params.set("seed", String(seed));
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

// ----------------------------------------------------------------------------- drawing
// The step's formula, from the server's MathML, broken at its operators to fit its box (a
// phone's width too); drawn afresh at every resize, the lines being the width's.
function fitFormula() {
  if (!state.exercise) return;
  const box = $("task-formula");
  box.innerHTML = state.exercise.mathml;
  box.style.fontSize = "";
  wrapFormula(box, parseFloat(getComputedStyle(box).fontSize));
  scrollRegion(box, "Formula");
}
window.addEventListener("resize", () => fitFormula());
function show(exercise) {
  state.exercise = exercise;
  const step = state.catalogue.steps[exercise.index];
  $("main").dataset.phase = step.phase;
  $("main").dataset.step = exercise.step;
  $("task-phase").textContent = PHASE_TITLES[step.phase];
  $("task-title").textContent = `Compute ${exercise.step}`;
  fitFormula();
  $("task-prompt").textContent = exercise.prompt;
  const clickable = ROUTING.has(exercise.step);
  $("click-note").hidden = !clickable;
  givens.render(exercise.given, exercise.ranges, { clickable, lr: exercise.lr });
  state.grid = new AnswerGrid($("answer-grid"), {
    name: exercise.step, shape: exercise.shape, onSubmit: check,
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
    body.config = example.config;
    body.example = { x: example.x, y: example.y, lr: example.lr, params: example.params };
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
    const cells = [result.cells].flat(3);
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
  for (const step of catalogue.steps) {
    if (!groups[step.phase]) {
      groups[step.phase] = document.createElement("optgroup");
      groups[step.phase].label = PHASE_TITLES[step.phase];
      select.append(groups[step.phase]);
    }
    const option = document.createElement("option");
    option.value = step.name;
    option.textContent = step.phase === "update" ? `${step.name} ← ${step.name} − η·d${step.name}` : step.name;
    groups[step.phase].append(option);
  }
  const whole = document.createElement("option");
  whole.value = CHAIN;
  whole.textContent = "Whole pass, step by step";
  select.prepend(whole);
  select.value = choice;
}

async function main() {
  const catalogue = await exercises.catalogue();
  state.catalogue = catalogue;
  let { choice, seed, example } = wanted();
  state.example = example;
  if (choice !== CHAIN && !catalogue.steps.some((s) => s.name === choice)) {
    say(`There is no step “${escape(choice)}”; here is dA1 instead.`, "error");
    choice = "dA1";
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
