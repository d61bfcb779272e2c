// The audience answers: join with a name, answer the question on the room's slide, change
// it until the presenter closes it, and see the right answer, one's own result and the
// room's distribution at the reveal. Every name and answer is drawn as text, never HTML.
// The token stays in this browser (localStorage), so a reload or a reconnect gets the
// student's own answer back.

import { answers } from "../common/api.js";
import { indexText, readNumber } from "../common/format.js";
import { scrolling } from "./slide.js";
import { cellGrids, el, drawDistribution, formatNumber, valueAt } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const STORE = `convlens-answer-${room}`;

let me = JSON.parse(localStorage.getItem(STORE) || "null"); // {token, name}
let current = null; // the server's last answer to GET question
let slide = null;
let draft = null; // cells tapped or grid typed, not yet sent
// the join form as typed, and why the last join was refused: kept when it is drawn again
const joining = { name: "", sid: "", refused: "" };

const panel = el("section", { id: "answer-panel", class: "answer-panel", "aria-label": "Your answer", hidden: "" });
document.body.append(panel);
// The sheet is fixed to the bottom of a phone's screen, or to the right of a wider one
// (answers.css): the page keeps as much room beside the slide, so nothing of the slide
// stays under it (a phone scrolls to it; a laptop's slide is fitted again, narrower).
new ResizeObserver(() => {
  const side = !panel.hidden && !scrolling();
  panel.dataset.place = side ? "side" : "bottom";
  const bar = document.querySelector(".demo-bar");
  panel.style.top = side && bar ? `${bar.getBoundingClientRect().bottom}px` : "";
  const bottom = panel.hidden || side ? "" : `${panel.offsetHeight}px`;
  const right = side ? `${panel.offsetWidth}px` : "";
  const main = document.querySelector("main").style;
  if (document.body.style.paddingBottom === bottom && main.marginRight === right) return;
  document.body.style.paddingBottom = bottom;
  main.marginRight = right; // the bar above keeps the whole width
  window.dispatchEvent(new Event("resize"));
}).observe(panel);

function say(message, kind = "info") {
  const line = panel.querySelector(".answer-status");
  if (line) {
    line.textContent = message;
    line.dataset.kind = kind;
  }
}

function joinForm(question) {
  const form = el("form", { class: "answer-join", "data-require-id": String(Boolean(current && current.require_id)) });
  const name = el("input", { id: "answer-name", name: "name", maxlength: "40", required: "", autocomplete: "nickname" });
  const sid = el("input", { id: "answer-sid", name: "student_id", maxlength: "32", autocomplete: "off" });
  const needId = Boolean(current && current.require_id); // the lesson says so (require_id)
  // said, not enforced by the browser: the server's refusal names the field in the form
  if (needId) sid.setAttribute("aria-required", "true");
  name.value = joining.name;
  sid.value = joining.sid;
  name.addEventListener("input", () => { joining.name = name.value; });
  sid.addEventListener("input", () => { joining.sid = sid.value; });
  const button = el("button", { type: "submit", id: "answer-join" }, "Join");
  form.append(
    el("p", { class: "answer-prompt" }, question.prompt),
    el("label", { for: "answer-name" }, "Your name (shown to the presenter)"), name,
    el("label", { for: "answer-sid" }, needId ? "Student ID (required: the gradebook matches you by it)" : "Student ID (optional, for the gradebook)"), sid,
    button,
    el("p", { class: "answer-status", role: "status", "data-kind": joining.refused ? "error" : "info" }, joining.refused),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    try {
      const joined = await answers.join(room, name.value, sid.value.trim());
      joining.refused = "";
      me = { token: joined.token, name: joined.name };
      localStorage.setItem(STORE, JSON.stringify(me));
      await refresh();
    } catch (error) {
      joining.refused = error.message;
      say(error.message, "error");
      button.disabled = false;
    }
  });
  return form;
}

async function send(value) {
  try {
    const stored = await answers.answer(room, current.question.id, me.token, value);
    current.mine = stored.answer;
    current.after_reveal = stored.after_reveal;
    draft = null;
    render();
    say(stored.after_reveal ? LATE : "Your answer is in. You can change it until the presenter closes the question.", "ok");
  } catch (error) {
    if (error.status === 403) { // the server forgot this student (another results file)
      localStorage.removeItem(STORE);
      me = null;
      render();
      return;
    }
    say(error.message, "error");
    if (error.status === 409) refresh();
  }
}

function choiceInput(q, open) {
  const list = el("div", { class: "answer-options", role: "group", "aria-label": "Options" });
  q.options.forEach((text, i) => {
    const b = el("button", { type: "button", class: "answer-option", "aria-pressed": String(current.mine === i) }, text);
    b.disabled = !open;
    b.addEventListener("click", () => send(i));
    list.append(b);
  });
  return list;
}

function numberInput(q, open) {
  const form = el("form", { class: "answer-number" });
  const input = el("input", { id: "answer-value", inputmode: "decimal", autocomplete: "off", "aria-label": "Your number", placeholder: "−0.626 or −0,626" });
  if (current.mine !== null) input.value = formatNumber(current.mine);
  const b = el("button", { type: "submit" }, current.mine === null ? "Send" : "Change");
  input.disabled = b.disabled = !open;
  form.append(input, b);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(input.value);
  });
  return form;
}

const key = (cell) => cell.join(",");
const LATE = "Your answer is in, after the answer was shown: it is kept apart and counts for no points.";

function cellsInput(q, open) {
  const chosen = new Set((draft || current.mine || []).map(key));
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
        b.disabled = !open;
        b.addEventListener("click", () => {
          if (chosen.has(key(cell))) chosen.delete(key(cell));
          else chosen.add(key(cell));
          draft = [...chosen].map((k) => k.split(",").map(Number));
          b.setAttribute("aria-pressed", String(chosen.has(key(cell))));
        });
        grid.append(b);
      }
    }
    wrap.append(grid);
  }
  const sendButton = el("button", { type: "button", class: "answer-send" }, current.mine === null ? "Send the cells" : "Change");
  sendButton.disabled = !open;
  sendButton.addEventListener("click", () => send([...chosen].map((k) => k.split(",").map(Number))));
  wrap.append(sendButton);
  return wrap;
}

// Flat numbers as the nested lists of `shape` (row by row, as the grid is laid out).
function reshape(flat, shape) {
  if (shape.length === 0) return flat[0]; // a single number
  if (shape.length === 1) return flat;
  const size = flat.length / shape[0];
  return Array.from({ length: shape[0] }, (_, i) => reshape(flat.slice(i * size, (i + 1) * size), shape.slice(1)));
}

function gridInput(q, open) {
  const form = el("form", { class: "answer-grid-form" });
  for (const [name, value] of Object.entries(q.given)) {
    form.append(el("p", { class: "answer-given" }, `${name} = ${gridText(value)}`));
  }
  const flat = q.shape.reduce((a, b) => a * b, 1);
  const cols = q.shape.length ? q.shape[q.shape.length - 1] : 1;
  const mine = current.mine !== null && current.mine !== undefined ? [current.mine].flat(4).map(formatNumber) : [];
  const typed = Array.isArray(draft) && draft.length === flat ? draft : null; // kept across redraws
  const grid = el("div", { class: "answer-grid" });
  grid.style.gridTemplateColumns = `repeat(${cols}, minmax(3.5rem, 1fr))`;
  const inputs = [];
  for (let i = 0; i < flat; i += 1) {
    const input = el("input", { inputmode: "decimal", autocomplete: "off", "aria-label": `${q.step} cell ${i + 1} of ${flat}` });
    if (typed) input.value = typed[i];
    else if (mine.length) input.value = mine[i];
    input.disabled = !open;
    input.addEventListener("input", () => { draft = inputs.map((each) => each.value); });
    inputs.push(input);
    grid.append(input);
  }
  const b = el("button", { type: "submit" }, current.mine === null ? "Send" : "Change");
  b.disabled = !open;
  form.append(grid, b);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const numbers = inputs.map((input) => readNumber(input.value));
    if (numbers.some((n) => !Number.isFinite(n))) {
      say("Fill every cell with a number.", "error");
      return;
    }
    send(reshape(numbers, q.shape));
  });
  return form;
}

// Numbers as a phone reads them, row by row: "0.5  0.75 / 0.87  0.89" (a tensor's planes
// apart with " | "), not as JSON.
function gridText(value) {
  if (!Array.isArray(value)) return formatNumber(value);
  if (!Array.isArray(value[0])) return value.map(formatNumber).join("  ");
  return value.map(gridText).join(Array.isArray(value[0][0]) ? " | " : " / ");
}

function describe(q, value) {
  if (value === null || value === undefined) return "no answer";
  if (q.kind === "choice") return q.options[value];
  if (q.kind === "number") return formatNumber(value);
  if (q.kind === "cells") return value.length ? value.map(indexText).join(" ") : "no cells";
  return gridText(value);
}

function render() {
  if (!current || !current.question) {
    panel.replaceChildren();
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const q = current.question;
  if (!me) {
    // a phone typing its name keeps its form, its focus and its keyboard while the room moves on
    const shown = panel.querySelector(".answer-join");
    if (shown && shown.dataset.requireId === String(Boolean(current.require_id))) {
      shown.querySelector(".answer-prompt").textContent = q.prompt;
      return;
    }
    panel.replaceChildren(joinForm(q));
    return;
  }
  panel.replaceChildren();
  const open = current.state === "open";
  panel.append(
    el("p", { class: "answer-who" }, `Answering as ${me.name}`),
    el("p", { class: "answer-prompt" }, q.prompt),
  );
  const input = { choice: choiceInput, number: numberInput, cells: cellsInput, grid: gridInput }[q.kind](q, open);
  panel.append(input, el("p", { class: "answer-status", role: "status" }, ""));
  if (current.state === "closed") say(current.mine === null ? "The question is closed." : `The question is closed. Your answer: ${describe(q, current.mine)}.`);
  else if (current.mine !== null && current.state === "open") say(current.after_reveal ? LATE : `Your answer: ${describe(q, current.mine)}. You can change it until the presenter closes the question.`, "ok");
  if (current.state === "revealed") {
    const result = current.result;
    const box = el("div", { class: "answer-reveal", "data-correct": result ? String(result.correct) : "none" });
    box.append(el("p", { class: "answer-right" }, `Right answer: ${describe(q, current.answer)}`));
    if (result) {
      const score = q.kind === "grid" && !result.correct ? ` (${Math.round(result.score * 100)}% of the cells)` : "";
      box.append(el("p", { class: "answer-yours" }, `Yours: ${describe(q, current.mine)} — ${result.correct ? "right ✓" : "not quite ✗"}${score}`));
      if (result.misconception) {
        box.append(el("p", { class: "answer-misconception" }, `${result.misconception.title}: ${result.misconception.message}`));
      }
    } else {
      box.append(el("p", { class: "answer-yours" }, current.after_reveal ? "Your answer came after the answer was shown: it counts for no points." : "You did not answer this one."));
    }
    box.append(drawDistribution(q, current.distribution, current.answer));
    panel.append(box);
  }
}

let asked = 0; // refreshes started: only the latest one is drawn

async function refresh() {
  const before = JSON.stringify(current);
  const mine = ++asked;
  try {
    const next = await answers.question(room, me && me.token);
    if (mine !== asked) return; // a newer refresh is on its way
    const id = (q) => (q && q.question ? q.question.id : null);
    if (id(next) !== id(current)) draft = null; // another question: nothing typed carries over
    current = next;
    if (JSON.stringify(current) === before && panel.childElementCount) return; // nothing new: keep what is typed
  } catch (error) {
    if (mine !== asked) return;
    if (error.status === 403 && me) {
      localStorage.removeItem(STORE);
      me = null;
      current = await answers.question(room, null);
    } else {
      return;
    }
  }
  render();
}

document.addEventListener("convlens:room", (event) => {
  const data = event.detail;
  if (data.type === "state") { // on every move and every reconnection
    if (data.slide !== slide) draft = null;
    slide = data.slide;
    refresh();
  } else if (data.type === "question" && current && current.question && data.id === current.question.id) {
    refresh();
  }
});
