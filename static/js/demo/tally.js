// The presenter's live view of the room's answers: answered of following, the distribution
// as it builds up, and the keys to close (C), reveal (R) and reopen (O) the question; the
// gradebook's CSV downloads. The key is read from this tab's session (presenter.js keeps
// it there) and travels only in headers.

import { answers } from "../common/api.js";
import { drawDistribution, el } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const KEY_STORE = "convlens-demo-key";
const key = () => sessionStorage.getItem(KEY_STORE);

let question = null; // the public question of the room's slide
let live = null; // the last distribution
let answer = null; // the right answer (marked only once revealed)

const panel = el("aside", { id: "tally-panel", class: "tally-panel", "aria-label": "The room's answers", hidden: "" });
document.body.append(panel);

function button(id, label, title, action) {
  const b = el("button", { type: "button", id, title }, label);
  b.addEventListener("click", action);
  return b;
}

async function setState(state) {
  if (!question) return;
  // The answer is the question as it now is: a refresh begun before it (on the push of an
  // earlier change) must not draw its older view over this one.
  const mine = ++asked;
  try {
    const view = await answers.setState(room, question.id, state, key());
    if (mine !== asked) return; // a refresh begun since has the newer view
    live = view;
    answer = live.answer;
    render();
  } catch (error) {
    status(error.message);
  }
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

function render() {
  panel.replaceChildren();
  const shown = Boolean(question && live);
  panel.hidden = !shown;
  document.body.classList.toggle("has-tally", shown); // the slide makes room for the panel
  if (!shown) return;
  const state = live.state;
  panel.dataset.state = state;
  panel.append(
    el("p", { class: "tally-prompt" }, question.prompt),
    el("p", { class: "tally-count", id: "tally-count" }, `${countText(live)} · ${state}`),
    drawDistribution(question, live, state === "revealed" ? answer : null),
  );
  const controls = el("div", { class: "tally-controls" });
  if (state === "open") controls.append(button("tally-close", "Close (C)", "Stop taking answers (C)", () => setState("closed")));
  else controls.append(button("tally-open", "Reopen (O)", "Take answers again (O)", () => setState("open")));
  if (state !== "revealed") controls.append(button("tally-reveal", "Reveal (R)", "Show everyone the answer and the room's results (R)", () => setState("revealed")));
  controls.append(
    button("tally-csv", "Results CSV", "One row per student, one column per question, the total", () => save(answers.resultsCsv(room, "generic", key()), `convlens-${room}-results.csv`)),
    button("tally-canvas", "Canvas CSV", "The total as an assignment a Canvas gradebook imports", () => save(answers.resultsCsv(room, "canvas", key()), `convlens-${room}-canvas.csv`)),
    button("tally-raw", "Answers CSV", "Every answer to this question", () => save(answers.answersCsv(room, question.id, key()), `convlens-${room}-${question.id}.csv`)),
  );
  panel.append(controls, el("p", { class: "tally-status", role: "status" }, ""));
}

let asked = 0; // refreshes and state changes started: only the latest one is drawn

async function refresh() {
  const mine = ++asked;
  let next = null;
  let view = null;
  try {
    next = (await answers.question(room, null)).question;
    if (next) view = await answers.live(room, next.id, key());
  } catch (error) {
    next = null;
  }
  if (mine !== asked) return; // a newer refresh is on its way
  question = next;
  live = view;
  answer = view ? view.answer : null;
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
  if (event.target.closest && event.target.closest("#students-panel")) return; // its keys
  const k = event.key.toLowerCase();
  if (k === "c") setState("closed");
  else if (k === "r") setState("revealed");
  else if (k === "o") setState("open");
  else return;
  event.preventDefault();
});
