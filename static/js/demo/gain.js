// The presenter's concept check: open the pre-check at the start of the lesson and the
// post-check at its end (the phones answer in their own time), how many answered each, and
// the gain table: per question the share right before and after, the normalized gain ⟨g⟩ =
// (after − before) / (1 − before) and n, the same overall, and the SUS score. K opens and
// closes the panel (C is the question's close), Escape closes it; while open it is asked
// again every 2 s and on every change of the check. The key is read from this tab's
// session (presenter.js keeps it there). Text only, never HTML.

import { answers } from "../common/api.js";
import { el } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const key = () => sessionStorage.getItem("convlens-demo-key");
const $ = (id) => document.getElementById(id);

const panel = $("check-panel");
const button = $("btn-check");
const EVERY = 2000; // ms between refreshes while the panel is open
const PHASE = { pre: "pre-check (before the lesson)", post: "post-check (after the lesson)" };
let asked = 0; // refreshes started: only the latest one is drawn
let every = null;

function say(message) {
  $("check-status").textContent = message;
}

function place() { // below the bar, however many rows it wraps to
  panel.style.top = `${document.querySelector(".demo-bar").getBoundingClientRect().bottom}px`;
}

function show(open) {
  panel.hidden = !open;
  document.body.classList.toggle("check-open", open); // the live tally waits behind it
  button.setAttribute("aria-pressed", String(open));
  clearInterval(every);
  every = null;
  if (!open) return;
  if (!$("students-panel").hidden) $("students-close").click(); // one page at a time
  place();
  refresh();
  every = setInterval(refresh, EVERY);
  $("check-close").focus();
}

function close() {
  show(false);
  button.focus();
}

const percent = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 100)}%`);
const gainText = (g) => (g === null || g === undefined ? "—" : g.toFixed(2));

function row(cells, head) {
  const tr = el("tr");
  tr.append(el("th", { scope: "row" }, head));
  for (const [text, label] of cells) tr.append(el("td", { "data-label": label }, text));
  return tr;
}

function draw(data) {
  const open = data.state === "open" ? data.phase : null;
  $("check-summary").textContent = `${open ? `The ${PHASE[open]} is open` : "No check is open"}`
    + ` · answered: ${data.answered.pre} before, ${data.answered.post} after`;
  $("check-open-pre").disabled = open === "pre";
  $("check-close-pre").disabled = open !== "pre";
  $("check-open-post").disabled = open === "post";
  $("check-close-post").disabled = open !== "post";
  const rows = $("gain-rows");
  rows.replaceChildren();
  for (const q of data.questions) {
    const r = row([[percent(q.pre), "Before"], [percent(q.post), "After"], [gainText(q.gain), "⟨g⟩"], [String(q.n), "n"]], q.prompt);
    r.dataset.question = q.id;
    rows.append(r);
  }
  const o = data.overall;
  const overall = row([[percent(o.pre), "Before"], [percent(o.post), "After"], [gainText(o.gain), "⟨g⟩"], [String(o.n), "n"]], "Overall");
  overall.id = "gain-overall-row";
  $("gain-overall").replaceChildren(overall);
  $("gain-sus").textContent = data.sus && data.sus.n
    ? `System Usability Scale: ${Math.round(data.sus.score * 10) / 10} of 100 (n = ${data.sus.n})`
    : "System Usability Scale: no answers yet";
}

async function act(promise, done) {
  asked += 1; // a refresh already on its way must not draw the table from before
  try {
    draw(await promise);
    say(done);
  } catch (error) {
    say(error.message);
  }
}

async function refresh() {
  if (panel.hidden) return;
  const mine = ++asked;
  try {
    const data = await answers.gain(room, key());
    if (mine === asked) draw(data);
  } catch (error) {
    if (mine !== asked) return;
    say(error.status === 404 ? "This lesson has no concept check ([check] in the lesson file)." : error.message);
  }
}

async function save() {
  try {
    const blob = await answers.checkCsv(room, key());
    const link = el("a", { href: URL.createObjectURL(blob), download: `convlens-${room}-check.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    say(`convlens-${room}-check.csv saved.`);
  } catch (error) {
    say(error.message);
  }
}

function phase(which, state, done) {
  act(answers.checkState(room, which, state, key()), done);
}

new ResizeObserver(() => { if (!panel.hidden) place(); }).observe(document.querySelector(".demo-bar"));
button.addEventListener("click", () => show(panel.hidden));
$("check-close").addEventListener("click", close);
$("check-open-pre").addEventListener("click", () => phase("pre", "open", "The pre-check is open: the phones show it."));
$("check-close-pre").addEventListener("click", () => phase("pre", "closed", "The pre-check is closed."));
$("check-open-post").addEventListener("click", () => phase("post", "open", "The post-check is open: the phones show it."));
$("check-close-post").addEventListener("click", () => phase("post", "closed", "The post-check is closed."));
$("check-csv").addEventListener("click", save);
// the students' list opened over it: this one closes
new MutationObserver(() => {
  if (!panel.hidden && document.body.classList.contains("students-open")) show(false);
}).observe(document.body, { attributes: true, attributeFilter: ["class"] });

document.addEventListener("convlens:room", (event) => {
  if (panel.hidden) return;
  if (event.detail.type === "check") refresh();
  else if (event.detail.type === "gain") { // the check's answers, pushed to the presenters
    asked += 1;
    draw(event.detail);
  }
});

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target instanceof HTMLInputElement) return;
  const k = event.key.toLowerCase();
  if (k === "k") {
    if (panel.hidden) show(true);
    else close();
  } else if (k === "escape" && !panel.hidden) close();
  else return;
  event.preventDefault();
});
