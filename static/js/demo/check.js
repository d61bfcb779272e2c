// The concept check on the phone: while the presenter has its phase open (before the lesson,
// after it), the student answers its questions one after the other, in their own time, and
// after the lesson the ten statements of the System Usability Scale (1 to 5). The phone
// never gets a right answer or a grade of the check. It is drawn in the answer sheet's
// #check-slot (answer.js), which joins the room for both; the token is answer.js's, in this
// browser's localStorage. Text only, never HTML.

import { answers } from "../common/api.js";
import { indexText, readNumber } from "../common/format.js";
import { cellGrids, el, formatNumber, valueAt } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const STORE = `convlens-answer-${room}`;
const slot = document.getElementById("check-slot");

const PHASES = { pre: "before the lesson", post: "after the lesson" };
const SCALE = ["Strongly disagree", "Disagree", "Neutral", "Agree", "Strongly agree"];

let me = JSON.parse(localStorage.getItem(STORE) || "null"); // {token, name}
let data = null; // the server's last answer to GET check
let step = 0; // the question shown (questions.length: the SUS statements)
let drafts = {}; // qid -> cells tapped or numbers typed, not yet sent
let scale = null; // the SUS choices made, not yet sent: 10 numbers (or null)
let asked = 0; // refreshes started: only the latest one is drawn
let heard = 0; // when the check was last asked (ms)
let moveFocus = false; // the student answered: the next question takes the focus

const isOpen = () => Boolean(data && data.check && data.phase && data.state === "open" && data.questions);
const questions = () => (isOpen() ? data.questions : []);
const answered = (q) => data.mine && data.mine[q.id] !== null && data.mine[q.id] !== undefined;
const withSus = () => Boolean(isOpen() && data.sus && data.sus.items);
const steps = () => questions().length + (withSus() ? 1 : 0);

function ownKeys(input) { // the page's keys (+ − 0 F) are not this field's
  input.addEventListener("keydown", (event) => event.stopPropagation());
  return input;
}

function say(message, kind = "info") {
  const line = slot.querySelector(".check-status");
  if (line) {
    line.textContent = message;
    line.dataset.kind = kind;
  }
}

function forget() {
  localStorage.removeItem(STORE);
  me = null;
  document.dispatchEvent(new CustomEvent("convlens:joined", { detail: null })); // answer.js
}

function failed(error) {
  if (error.status === 403) {
    forget();
    refresh();
    return;
  }
  say(error.message, "error");
  if (error.status === 409) refresh(); // the phase closed meanwhile
}

// The first question not answered after `from` (or the SUS, or the last question).
function nextStep(from) {
  const list = questions();
  for (let i = from + 1; i < list.length; i += 1) if (!answered(list[i])) return i;
  for (let i = 0; i <= from && i < list.length; i += 1) if (!answered(list[i])) return i;
  return withSus() ? list.length : Math.min(from, list.length - 1);
}

async function send(q, value) {
  const phase = data.phase;
  try {
    const stored = await answers.checkAnswer(room, phase, q.id, me.token, value);
    if (!data || data.phase !== phase) return;
    data.mine = { ...(data.mine || {}), [q.id]: stored.answer };
    delete drafts[q.id];
    const done = questions().filter(answered).length;
    const all = done === questions().length;
    step = nextStep(step);
    moveFocus = true;
    render();
    say(all ? (withSus() ? "Every question answered. Last: the ten statements below." : "Every question answered. Thank you!")
      : `Saved. ${done} of ${questions().length} answered.`, "ok");
  } catch (error) {
    failed(error);
  }
}

// ------------------------------------------------------------------------ the inputs
function choiceInput(q) {
  const list = el("div", { class: "answer-options", role: "group", "aria-labelledby": "check-prompt" });
  q.options.forEach((text, i) => {
    const b = el("button", { type: "button", class: "answer-option", "aria-pressed": String(data.mine[q.id] === i) }, text);
    b.addEventListener("click", () => send(q, i));
    list.append(b);
  });
  return list;
}

function numberInput(q) {
  const form = el("form", { class: "answer-number" });
  const input = ownKeys(el("input", { id: "check-value", inputmode: "decimal", autocomplete: "off", "aria-labelledby": "check-prompt" }));
  if (typeof drafts[q.id] === "string") input.value = drafts[q.id];
  else if (answered(q)) input.value = formatNumber(data.mine[q.id]);
  input.addEventListener("input", () => { drafts[q.id] = input.value; });
  const b = el("button", { type: "submit" }, answered(q) ? "Change" : "Send");
  form.append(input, b);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!Number.isFinite(readNumber(input.value))) {
      say("Type a number.", "error");
      return;
    }
    send(q, input.value);
  });
  return form;
}

const key = (cell) => cell.join(",");

function cellsInput(q) {
  const chosen = new Set((drafts[q.id] || data.mine[q.id] || []).map(key));
  const wrap = el("div", { class: "answer-cells-wrap" });
  const grids = cellGrids(q.shape);
  for (const { prefix, rows, cols, index } of grids) {
    const which = prefix.length === 2 ? ` filter ${prefix[0]}, channel ${prefix[1]}` : ` filter ${prefix[0]}`;
    const grid = el("div", { class: "answer-cells", role: "group", "aria-label": `${q.tensor}${grids.length > 1 ? which : ""}` });
    grid.style.gridTemplateColumns = `repeat(${cols}, minmax(2.6rem, 1fr))`;
    for (let r = 0; r < rows; r += 1) {
      for (let c = 0; c < cols; c += 1) {
        const cell = index(r, c);
        const value = valueAt(q.values, cell);
        const b = el("button", { type: "button", class: "answer-cell", "aria-pressed": String(chosen.has(key(cell))),
          "aria-label": `${q.tensor}[${cell.join(",")}] = ${formatNumber(value)}` }, formatNumber(value));
        b.addEventListener("click", () => {
          if (chosen.has(key(cell))) chosen.delete(key(cell));
          else chosen.add(key(cell));
          drafts[q.id] = [...chosen].map((k) => k.split(",").map(Number));
          b.setAttribute("aria-pressed", String(chosen.has(key(cell))));
        });
        grid.append(b);
      }
    }
    wrap.append(grid);
  }
  const b = el("button", { type: "button", class: "answer-send" }, answered(q) ? "Change" : "Send the cells");
  b.addEventListener("click", () => send(q, [...chosen].map((k) => k.split(",").map(Number))));
  wrap.append(b);
  return wrap;
}

function gridText(value) {
  if (!Array.isArray(value)) return formatNumber(value);
  if (!Array.isArray(value[0])) return value.map(formatNumber).join("  ");
  return value.map(gridText).join(Array.isArray(value[0][0]) ? " | " : " / ");
}

function reshape(flat, shape) {
  if (shape.length === 0) return flat[0];
  if (shape.length === 1) return flat;
  const size = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => reshape(flat.slice(i * size, (i + 1) * size), shape.slice(1)));
}

function gridInput(q) {
  const form = el("form", { class: "answer-grid-form" });
  for (const [name, value] of Object.entries(q.given || {})) {
    form.append(el("p", { class: "answer-given" }, `${name} = ${gridText(value)}`));
  }
  const flat = q.shape.reduce((a, b) => a * b, 1);
  const cols = q.shape.length ? q.shape[q.shape.length - 1] : 1;
  const mine = answered(q) ? [data.mine[q.id]].flat(4).map(formatNumber) : [];
  const typed = Array.isArray(drafts[q.id]) && drafts[q.id].length === flat ? drafts[q.id] : null;
  const grid = el("div", { class: "answer-grid" });
  grid.style.gridTemplateColumns = `repeat(${cols}, minmax(3.5rem, 1fr))`;
  const inputs = [];
  for (let i = 0; i < flat; i += 1) {
    const input = ownKeys(el("input", { inputmode: "decimal", autocomplete: "off", "aria-label": `${q.step} cell ${i + 1} of ${flat}` }));
    if (typed) input.value = typed[i];
    else if (mine.length) input.value = mine[i];
    input.addEventListener("input", () => { drafts[q.id] = inputs.map((each) => each.value); });
    inputs.push(input);
    grid.append(input);
  }
  const b = el("button", { type: "submit" }, answered(q) ? "Change" : "Send");
  form.append(grid, b);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const numbers = inputs.map((input) => readNumber(input.value));
    if (numbers.some((n) => !Number.isFinite(n))) {
      say("Fill every cell with a number.", "error");
      return;
    }
    send(q, reshape(numbers, q.shape));
  });
  return form;
}

function describe(q, value) {
  if (q.kind === "choice") return q.options[value];
  if (q.kind === "number") return formatNumber(value);
  if (q.kind === "cells") return value.length ? value.map(indexText).join(" ") : "no cells";
  return gridText(value);
}

// --------------------------------------------------------------------------- the SUS
function susForm() {
  const items = data.sus.items;
  const sent = data.sus.mine;
  if (!scale) scale = sent ? [...sent] : items.map(() => null);
  const form = el("form", { class: "sus-form", "aria-labelledby": "sus-title" });
  form.append(el("p", { id: "sus-title", class: "check-prompt", tabindex: "-1" },
    `About this tool: ten statements, from 1 (${SCALE[0].toLowerCase()}) to 5 (${SCALE[4].toLowerCase()}).`));
  items.forEach((statement, i) => {
    const set = el("fieldset", { class: "sus-item" });
    set.append(el("legend", {}, `${i + 1}. ${statement}`));
    const row = el("div", { class: "sus-scale" });
    SCALE.forEach((words, v) => {
      const id = `sus-${i}-${v + 1}`;
      const radio = ownKeys(el("input", { type: "radio", id, name: `sus-${i}`, value: String(v + 1) }));
      radio.checked = scale[i] === v + 1;
      radio.addEventListener("change", () => { scale[i] = v + 1; });
      const label = el("label", { for: id, class: "sus-choice" });
      label.append(radio, el("span", { class: "sus-number" }, String(v + 1)),
        el("span", { class: "visually-hidden" }, ` ${words}`));
      row.append(label);
    });
    set.append(row, el("p", { class: "sus-ends", "aria-hidden": "true" }, `1 ${SCALE[0]} · 5 ${SCALE[4]}`));
    form.append(set);
  });
  const b = el("button", { type: "submit", id: "sus-send" }, sent ? "Send again" : "Send");
  form.append(b);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const missing = scale.findIndex((v) => v === null);
    if (missing >= 0) {
      say(`Choose 1 to 5 for every statement: statement ${missing + 1} has none.`, "error");
      return;
    }
    b.disabled = true;
    try {
      const stored = await answers.sus(room, me.token, scale);
      data.sus.mine = stored.answers;
      render();
      say("Thank you: your answers are in.", "ok");
    } catch (error) {
      b.disabled = false;
      failed(error);
    }
  });
  return form;
}

// ----------------------------------------------------------------------- the panel
const seen = () => JSON.stringify([me && me.token, data]); // a join draws the questions
let drawn = null; // what the panel was last drawn from

function render() {
  drawn = seen();
  const open = isOpen();
  slot.dataset.open = String(open);
  if (!open) {
    slot.replaceChildren();
    document.dispatchEvent(new Event("convlens:sheet"));
    return;
  }
  const list = questions();
  step = Math.max(0, Math.min(step, steps() - 1));
  const section = el("section", { class: "check-panel", "aria-labelledby": "check-title", "data-phase": data.phase });
  section.append(el("h2", { id: "check-title", class: "check-title" }, `Concept check (${PHASES[data.phase]})`));
  if (!me) {
    section.append(el("p", { class: "check-join" }, "Join first: type your name above, then answer the check here."));
    slot.replaceChildren(section);
    document.dispatchEvent(new Event("convlens:sheet"));
    return;
  }
  const done = list.filter(answered).length;
  section.append(el("p", { class: "check-progress" }, `Answered ${done} of ${list.length}`
    + (withSus() ? (data.sus.mine ? " · statements sent" : " · then ten statements") : "")));
  if (step < list.length) {
    const q = list[step];
    section.append(el("p", { class: "check-step" }, `Question ${step + 1} of ${list.length}`),
      el("p", { id: "check-prompt", class: "check-prompt answer-prompt", tabindex: "-1" }, q.prompt));
    section.append({ choice: choiceInput, number: numberInput, cells: cellsInput, grid: gridInput }[q.kind](q));
    if (answered(q)) section.append(el("p", { class: "check-mine" }, `Your answer: ${describe(q, data.mine[q.id])}`));
  } else {
    section.append(susForm());
  }
  const nav = el("div", { class: "check-nav" });
  const prev = el("button", { type: "button", class: "check-prev" }, "Previous");
  const next = el("button", { type: "button", class: "check-next" }, step + 1 === list.length && withSus() ? "To the statements" : "Next");
  prev.disabled = step === 0;
  next.disabled = step >= steps() - 1;
  prev.addEventListener("click", () => { step -= 1; moveFocus = true; render(); });
  next.addEventListener("click", () => { step += 1; moveFocus = true; render(); });
  nav.append(prev, next);
  section.append(nav, el("p", { class: "check-status answer-status", role: "status" }, ""));
  slot.replaceChildren(section);
  document.dispatchEvent(new Event("convlens:sheet"));
  if (moveFocus) {
    moveFocus = false;
    const target = section.querySelector("#check-prompt, #sus-title");
    if (target) target.focus({ preventScroll: false });
  }
}

async function refresh() {
  const mine = ++asked;
  heard = Date.now();
  try {
    const next = await answers.check(room, me && me.token);
    if (mine !== asked) return;
    const phase = (d) => (d && d.check ? `${d.phase}:${d.state}` : "none");
    const another = phase(next) !== phase(data);
    data = next;
    if (data && data.check) data.mine = data.mine || {};
    if (another) { // another phase: start at its first question not answered
      drafts = {};
      scale = null;
      step = isOpen() ? nextStep(-1) : 0;
    }
    if (seen() === drawn && slot.childElementCount) return; // nothing new: keep what is typed
  } catch (error) {
    if (mine !== asked) return;
    if (error.status === 403 && me) {
      forget();
      refresh();
      return;
    }
    if (error.status !== 404) return; // (a server without the check: nothing to draw)
    data = null;
  }
  render();
}

if (slot) {
  document.addEventListener("convlens:room", (event) => {
    const type = event.detail.type;
    if (type === "check") refresh();
    // a (re)connection may have missed a change: ask again, not at every move of the lesson
    else if (type === "state" && (data === null || Date.now() - heard > 20_000)) refresh();
  });
  document.addEventListener("convlens:joined", (event) => {
    me = event.detail;
    refresh();
  });
  refresh();
}
