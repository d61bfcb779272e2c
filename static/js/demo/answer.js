// The audience answers: join with a name, answer the question on the room's slide, change
// it until the presenter closes it, and see the right answer, one's own result and the
// room's distribution at the reveal. Every name and answer is drawn as text, never HTML.
// The token stays in this browser (localStorage), so a reload or a reconnect gets the
// student's own answer back.
// A two-round question (peer instruction): a silent vote, a discussion, a second vote with a
// countdown; each answer says how sure the student is; the room's answers stay sealed until
// the reveal, which shows both rounds and how many moved from wrong to right.
// The sheet also holds the concept check (check.js draws it in #check-slot); joining is here,
// for both.

import { answers } from "../common/api.js";
import { indexText, readNumber } from "../common/format.js";
import { scrolling } from "./slide.js";
import { cellGrids, clockText, el, drawDistribution, drawRounds, formatNumber, valueAt } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const STORE = `convlens-answer-${room}`;
// Round 2 keeps round 1's answer as the phone's own (`mine`), and counts a vote only once
// the student sends one (again): the server says whether they have (`voted`, this round).
const votedThisRound = () => Boolean(current && current.voted);

let me = JSON.parse(localStorage.getItem(STORE) || "null"); // {token, name}
let current = null; // the server's last answer to GET question
let slide = null;
let draft = null; // cells tapped or grid typed, not yet sent
let sure = null; // "sure" or "unsure" pressed for this round, not yet sent with an answer
let endsAt = null; // when this round's countdown ends (performance.now() ms), or null
let lastLeft = null; // the seconds left at the countdown's last tick
let ticker = null;
// the join form as typed, and why the last join was refused: kept when it is drawn again
const joining = { name: "", sid: "", refused: "" };

const panel = el("section", { id: "answer-panel", class: "answer-panel", "aria-label": "Your answers", hidden: "" });
const body = el("div", { class: "answer-body" }); // the question on the slide, or the join form
const checkSlot = el("div", { id: "check-slot", class: "check-slot" }); // check.js's
panel.append(body, checkSlot);
document.body.append(panel);
// The sheet is fixed to the bottom of a phone's screen, or to the right of a wider one
// (answers.css): the page keeps as much room beside the slide, so nothing of the slide
// stays under it (a phone scrolls to it; a laptop's slide is fitted again, narrower).
new ResizeObserver(() => {
  reachable();
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

// The sheet shows while it holds something: a question, the join form, the concept check.
function place() {
  panel.hidden = !body.childElementCount && !checkSlot.childElementCount;
  reachable();
}

// A sheet taller than its room scrolls: the keyboard reaches it even when nothing in it is
// a control (a reveal's buttons are all disabled).
function reachable() {
  if (!panel.hidden && panel.scrollHeight > panel.clientHeight + 1) panel.setAttribute("tabindex", "0");
  else panel.removeAttribute("tabindex");
}

// The page's keys (follow.js) stop at the sheet: space presses its buttons, the arrows move
// through a group of radio buttons, or scroll the sheet.
const SHEET_KEYS = [" ", "Enter", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"];
panel.addEventListener("keydown", (event) => {
  if (SHEET_KEYS.includes(event.key)) event.stopPropagation();
});

// The page's keys (follow.js: + − 0 F) are not this field's: a typed "0" or "−" stays in it.
function ownKeys(input) {
  input.addEventListener("keydown", (event) => event.stopPropagation());
  return input;
}

function say(message, kind = "info") {
  const line = body.querySelector(".answer-status");
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
  ownKeys(name);
  ownKeys(sid);
  form.append(
    el("p", { class: "answer-prompt" }, promptOf(question)),
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
      document.dispatchEvent(new CustomEvent("convlens:joined", { detail: me })); // check.js
      await refresh();
      if (!current || !current.question) render(); // the check's join: nothing else changed
    } catch (error) {
      joining.refused = error.message;
      say(error.message, "error");
      button.disabled = false;
    }
  });
  return form;
}

function promptOf(question) {
  return question ? question.prompt : "Join to answer the concept check.";
}

const twoRounds = () => Boolean(current && current.rounds === 2);
const picked = () => sure || (current && current.confidence) || null;

async function send(value) {
  try {
    const confidence = twoRounds() ? picked() : null;
    const stored = await answers.answer(room, current.question.id, me.token, value, confidence || undefined);
    current.mine = stored.answer;
    current.after_reveal = stored.after_reveal;
    if (stored.confidence !== undefined) current.confidence = stored.confidence;
    current.voted = true;
    sure = null;
    draft = null;
    render();
    say(stored.after_reveal ? LATE : `Your answer is in${confidence ? ` (${confidence === "sure" ? "sure" : "not sure"})` : ""}. You can change it until the presenter closes the ${twoRounds() ? "round" : "question"}.`, "ok");
  } catch (error) {
    if (error.status === 403) { // the server forgot this student (another results file)
      forget();
      render();
      return;
    }
    say(error.message, "error");
    if (error.status === 409) refresh();
  }
}

function forget() {
  localStorage.removeItem(STORE);
  me = null;
  document.dispatchEvent(new CustomEvent("convlens:joined", { detail: null }));
}

// "How sure are you?": two toggles; pressed after answering, the same answer goes again with it.
function confidenceInput(open) {
  const wrap = el("div", { class: "answer-confidence" });
  const label = el("p", { id: "answer-sure-label", class: "answer-sure-label" }, "How sure are you?");
  const group = el("div", { class: "answer-sure-buttons", role: "group", "aria-labelledby": "answer-sure-label" });
  for (const [value, text] of [["sure", "Sure"], ["unsure", "Not sure"]]) {
    const b = el("button", { type: "button", class: "answer-sure", "data-value": value, "aria-pressed": String(picked() === value) }, text);
    b.disabled = !open;
    b.addEventListener("click", () => {
      sure = value;
      for (const each of group.children) each.setAttribute("aria-pressed", String(each.dataset.value === value));
      // (round 2's vote is the student's to send: round 1's answer is not sent for them)
      if (current.mine !== null && current.mine !== undefined && !current.after_reveal && votedThisRound()) send(current.mine);
      else say(`${text}: it goes with your answer.`);
    });
    group.append(b);
  }
  wrap.append(label, group);
  return wrap;
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
  const input = ownKeys(el("input", { id: "answer-value", inputmode: "decimal", autocomplete: "off", "aria-label": "Your number", placeholder: "−0.626 or −0,626" }));
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
    const input = ownKeys(el("input", { inputmode: "decimal", autocomplete: "off", "aria-label": `${q.step} cell ${i + 1} of ${flat}` }));
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

function resultText(q, mine, result) {
  const score = q.kind === "grid" && !result.correct ? ` (${Math.round(result.score * 100)}% of the cells)` : "";
  return `${describe(q, mine)} — ${result.correct ? "right ✓" : "not quite ✗"}${score}`;
}

function closedText(q) {
  const mine = current.mine === null ? "" : ` Your answer: ${describe(q, current.mine)}.`;
  if (!twoRounds()) return `The question is closed.${mine}`;
  if (current.round === 1) return `Round 1 is closed.${mine} Talk it over with your neighbours: round 2 comes next.`;
  return `Round 2 is closed.${mine} The answer comes next.`;
}

function reveal(q) {
  const result = current.result;
  const box = el("div", { class: "answer-reveal", "data-correct": result ? String(result.correct) : "none" });
  box.append(el("p", { class: "answer-right" }, `Right answer: ${describe(q, current.answer)}`));
  const two = twoRounds() && current.first;
  if (two) {
    const first = current.result_first;
    box.append(el("p", { class: "answer-first", "data-correct": first ? String(first.correct) : "none" },
      first ? `Round 1, yours: ${resultText(q, current.mine_first, first)}` : "Round 1: you did not answer."));
  }
  if (result && two && !current.voted) {
    box.append(el("p", { class: "answer-yours" }, "Round 2: you did not vote again, so your round 1 answer counts."));
  } else if (result) {
    box.append(el("p", { class: "answer-yours" }, `${two ? "Round 2, yours" : "Yours"}: ${resultText(q, current.mine, result)}`));
    if (result.misconception) {
      box.append(el("p", { class: "answer-misconception" }, `${result.misconception.title}: ${result.misconception.message}`));
    }
  } else {
    box.append(el("p", { class: "answer-yours" }, current.after_reveal ? "Your answer came after the answer was shown: it counts for no points."
      : two ? "Round 2: you did not answer." : "You did not answer this one."));
  }
  if (two) {
    const moved = current.moved || {};
    box.append(el("p", { class: "answer-moved" }, `${moved.wrong_to_right || 0} moved from wrong to right`));
    box.append(drawRounds(q, current.first, current.distribution, current.answer,
      { mineFirst: current.mine_first, mine: current.mine }));
  } else {
    box.append(drawDistribution(q, current.distribution, current.answer, { mine: current.mine }));
  }
  return box;
}

function render() {
  const q = current && current.question;
  const checking = checkSlot.dataset.open === "true"; // the concept check is open (check.js)
  if (!q && !(checking && !me)) {
    body.replaceChildren();
    place();
    return;
  }
  if (!me) {
    // a phone typing its name keeps its form, its focus and its keyboard while the room moves on
    const shown = body.querySelector(".answer-join");
    const requireId = String(Boolean(current && current.require_id));
    if (shown && shown.dataset.requireId === requireId) {
      shown.querySelector(".answer-prompt").textContent = promptOf(q);
    } else {
      body.replaceChildren(joinForm(q));
    }
    place();
    return;
  }
  body.replaceChildren();
  const open = current.state === "open";
  const two = twoRounds();
  body.append(el("p", { class: "answer-who" }, `Answering as ${me.name}`));
  if (two) body.append(el("p", { class: "answer-round" }, `Round ${current.round} of 2`));
  body.append(el("p", { class: "answer-prompt" }, q.prompt));
  if (open && endsAt !== null) {
    const left = secondsLeft();
    body.append(el("p", { class: "answer-timer", role: "timer" }, left ? `${clockText(left)} left` : "Time is up"),
      // said at 30 s and 10 s only, not every second
      el("p", { class: "answer-timer-say visually-hidden", "aria-live": "polite" }, ""));
  }
  const input = { choice: choiceInput, number: numberInput, cells: cellsInput, grid: gridInput }[q.kind](q, open);
  body.append(input);
  if (two && current.state !== "revealed") body.append(confidenceInput(open));
  body.append(el("p", { class: "answer-status", role: "status" }, ""));
  const again = two && open && current.round === 2 && !votedThisRound();
  if (current.state === "closed") say(closedText(q));
  else if (again) {
    say(current.mine === null ? "Round 2: vote again, after the discussion."
      : `Round 2: vote again. Your round 1 answer was ${describe(q, current.mine)}: send it again or change it.`);
  } else if (current.mine !== null && current.state === "open") say(current.after_reveal ? LATE : `Your answer: ${describe(q, current.mine)}. You can change it until the presenter closes the ${two ? "round" : "question"}.`, "ok");
  if (current.state === "revealed") body.append(reveal(q));
  place();
}

// ------------------------------------------------------------------ round 2's countdown
const secondsLeft = () => (endsAt === null ? 0 : Math.max(0, Math.ceil((endsAt - performance.now()) / 1000)));

function clock(next, before) {
  const remaining = next && next.question && next.state === "open" ? next.remaining : null;
  const again = !before || before.deadline !== next.deadline || before.round !== next.round;
  endsAt = typeof remaining === "number" ? performance.now() + remaining * 1000 : null;
  if (again) lastLeft = null;
  clearTimeout(ticker);
  ticker = null;
  if (endsAt !== null) tick();
}

function tick() {
  const left = secondsLeft();
  const shown = body.querySelector(".answer-timer");
  if (shown) shown.textContent = left ? `${clockText(left)} left` : "Time is up";
  const line = body.querySelector(".answer-timer-say");
  for (const mark of [30, 10]) {
    if (line && lastLeft !== null && lastLeft > mark && left <= mark) line.textContent = `${mark} seconds left`;
  }
  lastLeft = left;
  if (!left) {
    // the server closes the round at its deadline: ask it (again each second until it has)
    for (const each of body.querySelectorAll("button, input")) each.disabled = true;
    ticker = setTimeout(refresh, 800);
    return;
  }
  ticker = setTimeout(tick, ((endsAt - performance.now()) % 1000) + 20);
}

let asked = 0; // refreshes started: only the latest one is drawn

// what a refresh compares: the seconds left change at every answer, the question need not
const same = (c) => JSON.stringify(c && { ...c, remaining: null });

async function refresh() {
  const previous = current;
  const before = same(current);
  const mine = ++asked;
  try {
    const next = await answers.question(room, me && me.token);
    if (mine !== asked) return; // a newer refresh is on its way
    const id = (q) => (q && q.question ? q.question.id : null);
    if (id(next) !== id(current)) draft = null; // another question: nothing typed carries over
    if (id(next) !== id(current) || (next.round || 1) !== ((current && current.round) || 1)) sure = null;
    current = next;
    clock(next, previous);
    if (same(current) === before && body.childElementCount) return; // nothing new: keep what is typed
  } catch (error) {
    if (mine !== asked) return;
    if (error.status === 403 && me) {
      forget();
      current = await answers.question(room, null);
      clock(current, previous);
    } else {
      return;
    }
  }
  render();
}

// check.js: the concept check opened or closed (the sheet shows it; joining is here), or a
// join or a forgotten token there
document.addEventListener("convlens:sheet", () => {
  if (!current || !current.question) render();
  else place();
});
document.addEventListener("convlens:joined", (event) => {
  const now = event.detail ? event.detail.token : null;
  if ((me ? me.token : null) === now) return; // (this page's own join)
  me = event.detail;
  refresh();
});

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
