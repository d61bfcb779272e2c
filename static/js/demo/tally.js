// The presenter's live view of the room's answers: answered of following, the distribution
// as it builds up, and the keys to close (C), reveal (R) and reopen (O) the question; the
// gradebook's CSV downloads. The key is read from this tab's session (presenter.js keeps
// it there) and travels only in headers.
// A two-round question (peer instruction) is sealed until its reveal: the view says only how
// many answered and the share right, and how sure the room is (right or wrong, sure or not);
// close round 1, open round 2 with a countdown (±30 s while it runs), close it, reveal both
// rounds side by side and how many moved from wrong to right.

import { answers } from "../common/api.js";
import { clockText, drawDistribution, drawRounds, el } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const KEY_STORE = "convlens-demo-key";
const key = () => sessionStorage.getItem(KEY_STORE);

let question = null; // the public question of the room's slide
let live = null; // the last distribution
let answer = null; // the right answer (marked only once revealed)
let asked_view = null; // the room's GET question (at a two-round reveal: round 1's answers, who moved)
let timerValue = null; // the round 2 timer typed (seconds), kept across redraws
let endsAt = null; // when the round's countdown ends (performance.now() ms), or null
let ticker = null;

const panel = el("aside", { id: "tally-panel", class: "tally-panel", "aria-label": "The room's answers", hidden: "" });
document.body.append(panel);

function button(id, label, title, action) {
  const b = el("button", { type: "button", id, title }, label);
  b.addEventListener("click", action);
  return b;
}

const twoRounds = () => Boolean(live && live.rounds === 2);
const round = () => (live && live.round) || 1;

async function setState(state, more = {}) {
  if (!question) return;
  // The answer is the question as it now is: a refresh begun before it (on the push of an
  // earlier change) must not draw its older view over this one.
  const mine = ++asked;
  try {
    const view = await answers.setState(room, question.id, state, key(), more);
    if (mine !== asked) return; // a refresh begun since has the newer view
    take(view);
    render();
    if (state === "revealed" && twoRounds()) refresh(); // round 1's answers and who moved
  } catch (error) {
    status(error.message);
  }
}

// Round 2, with the timer typed (0: none); again while it runs, to restart its timer.
function openRound2(timer = typedTimer()) {
  return setState("open", { round: 2, timer });
}

function typedTimer() {
  const field = panel.querySelector("#tally-timer-s");
  const n = Math.round(Number(field ? field.value : timerValue));
  return Number.isFinite(n) ? Math.max(0, Math.min(3600, n)) : 0;
}

function adjust(delta) {
  openRound2(Math.max(5, Math.round(secondsLeft() + delta)));
}

async function save(blobPromise, name) {
  try {
    const blob = await blobPromise;
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    status(error.message);
  }
}

function status(message) {
  const line = panel.querySelector(".tally-status");
  if (line) line.textContent = message;
}

// "3 of 5 following answered"; once pages have left, "3 answered · 0 following now"
// (an answer stays when its phone goes).
function countText(d) {
  const late = d.after_reveal ? ` (+${d.after_reveal} after the reveal)` : "";
  if (d.answered <= d.following) return `${d.answered} of ${d.following} following answered${late}`;
  return `${d.answered} answered${late} · ${d.following} following now`;
}

const share = (n, of) => (of ? Math.round((100 * n) / of) : 0);

// Right or wrong, sure or not: wrong and sure is the misconception to address.
function confidenceTable(c) {
  const table = el("table", { class: "tally-confidence" });
  table.append(el("caption", {}, `How sure, round ${round()}${c.unsaid ? ` (${c.unsaid} did not say)` : ""}`));
  const head = el("tr");
  head.append(el("td"), el("th", { scope: "col" }, "Sure"), el("th", { scope: "col" }, "Not sure"));
  const thead = el("thead");
  thead.append(head);
  const tbody = el("tbody");
  const right = el("tr");
  right.append(el("th", { scope: "row" }, "Right"), el("td", {}, String(c.right_sure)), el("td", {}, String(c.right_unsure)));
  const wrong = el("tr");
  const flagged = el("td", { "data-flag": "misconception" }, String(c.wrong_sure));
  flagged.append(el("span", { class: "tally-flag" }, " misconception to address"));
  wrong.append(el("th", { scope: "row" }, "Wrong"), flagged, el("td", {}, String(c.wrong_unsure)));
  tbody.append(right, wrong);
  table.append(thead, tbody);
  return table;
}

function movedText(m) {
  return `${m.wrong_to_right} of ${m.both} who answered both moved from wrong to right (${m.right_to_wrong} from right to wrong)`;
}

function timerField() {
  const wrap = el("span", { class: "tally-timer-field" });
  const input = el("input", { type: "number", id: "tally-timer-s", min: "0", max: "3600", step: "5", inputmode: "numeric" });
  input.value = String(timerValue ?? live.timer ?? 0);
  input.addEventListener("input", () => { timerValue = input.value; });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") openRound2();
  });
  wrap.append(el("label", { for: "tally-timer-s" }, "Timer (s, 0 none)"), input);
  return wrap;
}

function render() {
  // the focused control is drawn again: the focus goes back to it
  const focused = panel.contains(document.activeElement) ? document.activeElement.id : "";
  panel.replaceChildren();
  const shown = Boolean(question && live);
  panel.hidden = !shown;
  document.body.classList.toggle("has-tally", shown); // the slide makes room for the panel
  if (!shown) return;
  const state = live.state;
  const two = twoRounds();
  panel.dataset.state = state;
  panel.dataset.round = String(round());
  panel.dataset.sealed = String(Boolean(live.sealed));
  panel.append(
    el("p", { class: "tally-prompt" }, question.prompt),
    el("p", { class: "tally-count", id: "tally-count" }, `${countText(live)} · ${state}`),
  );
  if (two) {
    const line = live.sealed
      ? `Round ${round()} of 2 — sealed: ${live.answered} answered, ${share(live.right, live.answered)}% right`
      : `Round ${round()} of 2 — revealed`;
    panel.append(el("p", { class: "tally-round-line", id: "tally-round" }, line));
  }
  if (state === "open" && endsAt !== null) {
    const left = secondsLeft();
    panel.append(el("p", { class: "tally-timer", id: "tally-timer", role: "timer" }, left ? `${clockText(left)} left` : "Time is up"));
  }
  if (two && live.confidence) panel.append(confidenceTable(live.confidence));
  if (!live.sealed) {
    const shownAnswer = state === "revealed" ? answer : null;
    const view = asked_view && asked_view.question && asked_view.question.id === question.id ? asked_view : null;
    if (two && state === "revealed" && view && view.first) {
      if (view.moved) panel.append(el("p", { class: "tally-moved", id: "tally-moved" }, movedText(view.moved)));
      panel.append(drawRounds(question, view.first, live, shownAnswer));
    } else if (live.counts || live.bars || live.taps || live.misconceptions) {
      panel.append(drawDistribution(question, live, shownAnswer));
    }
  }
  const controls = el("div", { class: "tally-controls" });
  if (two && state !== "revealed") {
    if (state === "open") {
      controls.append(button("tally-close", `Close round ${round()} (C)`, `Stop taking round ${round()}'s answers (C)`, () => setState("closed")));
      if (round() === 2 && endsAt !== null) {
        controls.append(button("tally-more", "+30 s", "30 seconds more for round 2", () => adjust(30)),
          button("tally-less", "−30 s", "30 seconds less for round 2 (at least 5 s left)", () => adjust(-30)));
      }
    } else {
      controls.append(timerField(), round() === 1
        ? button("tally-round2", "Open round 2 (O)", "The second vote, after the discussion, with this timer (O)", () => openRound2())
        : button("tally-open", "Reopen round 2 (O)", "Take round 2's answers again, with this timer (O)", () => openRound2()));
    }
  } else if (state === "open") {
    controls.append(button("tally-close", "Close (C)", "Stop taking answers (C)", () => setState("closed")));
  } else {
    controls.append(button("tally-open", "Reopen (O)", "Take answers again (O)", () => setState("open")));
  }
  if (state !== "revealed") controls.append(button("tally-reveal", "Reveal (R)", "Show everyone the answer and the room's results (R)", () => setState("revealed")));
  controls.append(
    button("tally-csv", "Results CSV", "One row per student, one column per question, the total", () => save(answers.resultsCsv(room, "generic", key()), `convlens-${room}-results.csv`)),
    button("tally-canvas", "Canvas CSV", "The total as an assignment a Canvas gradebook imports", () => save(answers.resultsCsv(room, "canvas", key()), `convlens-${room}-canvas.csv`)),
    button("tally-raw", "Answers CSV", "Every answer to this question", () => save(answers.answersCsv(room, question.id, key()), `convlens-${room}-${question.id}.csv`)),
  );
  panel.append(controls, el("p", { class: "tally-status", role: "status" }, ""));
  if (focused) {
    const again = document.getElementById(focused);
    if (again && panel.contains(again)) again.focus();
  }
}

// --------------------------------------------------------------------- the countdown
const secondsLeft = () => (endsAt === null ? 0 : Math.max(0, (endsAt - performance.now()) / 1000));

function take(view) {
  live = view;
  answer = view ? view.answer : null;
  clearTimeout(ticker);
  ticker = null;
  const remaining = view && view.state === "open" ? view.remaining : null;
  endsAt = typeof remaining === "number" ? performance.now() + remaining * 1000 : null;
  if (endsAt !== null) ticker = setTimeout(tick, 0);
}

function tick() {
  const left = secondsLeft();
  const shown = panel.querySelector("#tally-timer");
  if (shown) shown.textContent = left >= 0.5 ? `${clockText(left)} left` : "Time is up";
  if (left <= 0) {
    ticker = setTimeout(refresh, 800); // the server closes the round at its deadline
    return;
  }
  ticker = setTimeout(tick, ((endsAt - performance.now()) % 1000) + 20);
}

let asked = 0; // refreshes and state changes started: only the latest one is drawn

async function refresh() {
  const mine = ++asked;
  let next = null;
  let view = null;
  let whole = null;
  try {
    whole = await answers.question(room, null);
    next = whole.question;
    if (next) view = await answers.live(room, next.id, key());
  } catch (error) {
    next = null;
  }
  if (mine !== asked) return; // a newer refresh is on its way
  if (!next || !question || next.id !== question.id) timerValue = null;
  question = next;
  asked_view = whole;
  take(view);
  render();
}

document.addEventListener("convlens:room", (event) => {
  const data = event.detail;
  if (data.type === "state") refresh();
  else if (data.type === "answers" && question && data.question === question.id && live) {
    live = { ...live, ...data };
    render();
  } else if (data.type === "question" && question && data.id === question.id) {
    refresh();
  } else if (data.type === "followers" && live) {
    live.following = data.count;
    render();
  }
});

document.addEventListener("keydown", (event) => {
  if (!question || event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target instanceof HTMLInputElement) return;
  if (event.target.closest && event.target.closest("#students-panel, #check-panel")) return; // their keys
  if (document.body.classList.contains("check-open")) return; // the live view waits behind it
  const k = event.key.toLowerCase();
  if (k === "c") setState("closed");
  else if (k === "r") setState("revealed");
  else if (k === "o") {
    if (twoRounds() && live.state === "closed") openRound2();
    else setState("open");
  } else return;
  event.preventDefault();
});
