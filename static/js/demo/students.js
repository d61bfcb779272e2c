// The presenter's list of students: who joined, how many questions each answered (and
// after a reveal, which counts for nothing), a mark on a name that looks like another or a
// student ID someone else also claimed; remove a student (their answers leave every
// export) or every one who never answered, dismiss a claim. S opens and closes it. Below
// the list, the gradebook's exports and how to import them into Canvas; the Students button
// and the panel say how many answers came from students without a student ID (Canvas
// cannot match them). The key is read from this tab's session (presenter.js keeps it
// there). Text only, never HTML.

import { answers } from "../common/api.js";
import { el } from "./tally-draw.js";

const root = document.getElementById("demo-root");
const room = root.dataset.room;
const key = () => sessionStorage.getItem("convlens-demo-key");
const $ = (id) => document.getElementById(id);

const panel = $("students-panel");
const button = $("btn-students");
let asked = 0; // refreshes started: only the latest one is drawn

function say(message) {
  $("students-status").textContent = message;
}

function place() { // below the bar, however many rows it wraps to
  panel.style.top = `${document.querySelector(".demo-bar").getBoundingClientRect().bottom}px`;
}

function show(open) {
  panel.hidden = !open;
  document.body.classList.toggle("students-open", open); // the live tally waits behind it
  button.setAttribute("aria-pressed", String(open));
  if (!open) return;
  place();
  refresh();
  $("students-close").focus();
}

function time(at) {
  return at.slice(11, 16); // "2026-12-07T09:03:00Z" -> "09:03" (UTC, as in the CSV)
}

function marks(student) {
  const list = el("ul", { class: "students-marks" });
  if (student.lookalike) list.append(el("li", { "data-mark": "lookalike" }, `Name ${student.lookalike}`));
  for (const claim of student.disputes) {
    const item = el("li", { "data-mark": "dispute" }, `ID also claimed by “${claim.name}” at ${time(claim.at)} UTC `);
    const dismiss = el("button", { type: "button", class: "students-dismiss", "aria-label": `Dismiss the claim by ${claim.name}` }, "Dismiss");
    dismiss.addEventListener("click", () => act(answers.dismissDispute(room, claim.id, key()), "Claim dismissed: the ID stays with its holder."));
    item.append(dismiss);
    list.append(item);
  }
  if (!student.holds_place) list.append(el("li", { "data-mark": "idle" }, student.never_answered ? "No answer yet: holds no place" : "Answered only after a reveal: holds no place"));
  return list;
}

function draw(data) {
  const rows = $("students-rows");
  // the focused button is drawn again: the focus goes back to it (or to its row's next)
  const focused = document.activeElement;
  const focusRow = focused && focused.closest ? focused.closest("tr[data-student]") : null;
  const again = focusRow ? [focusRow.dataset.student, focused.className] : null;
  rows.replaceChildren();
  const n = data.students.length;
  $("students-summary").textContent = `${n} joined · ${data.places} of ${data.max_places} places held`
    + (data.disputes ? ` · ${data.disputes} disputed ID${data.disputes === 1 ? "" : "s"}` : "");
  $("students-prune").disabled = !data.students.some((s) => s.never_answered);
  withoutId(data.without_id);
  for (const student of data.students) {
    const row = el("tr", { "data-student": String(student.id) });
    if (student.lookalike || student.disputes.length) row.dataset.marked = "true";
    const answered = student.after_reveal ? `${student.answered} (+${student.after_reveal} after a reveal)` : String(student.answered);
    const remove = el("button", { type: "button", class: "students-remove" }, "Remove");
    remove.setAttribute("aria-label", `Remove ${student.name}`);
    remove.addEventListener("click", () => act(answers.removeStudents(room, { ids: [student.id] }, key()), `${student.name} removed.`));
    const actions = el("td");
    actions.append(remove);
    const markCell = el("td");
    markCell.append(marks(student));
    markCell.dataset.label = "Marks";
    row.append(el("th", { scope: "row" }, student.name),
      el("td", { "data-label": "Student ID" }, student.student_id || "—"),
      el("td", { class: "students-count", "data-label": "Answered" }, answered), markCell, actions);
    rows.append(row);
  }
  if (again) {
    const same = rows.querySelector(`tr[data-student="${again[0]}"] .${again[1]}`)
      || rows.querySelector(".students-remove") || $("students-close");
    same.focus();
  }
  if (!n) {
    const row = el("tr");
    row.append(el("td", { colspan: "5" }, "Nobody has joined yet."));
    rows.append(row);
  }
  if (again) {
    const same = rows.querySelector(`tr[data-student="${again[0]}"] .${again[1]}`)
      || rows.querySelector(".students-remove") || $("students-close");
    same.focus();
  }
}

// "3 answers from 2 students without a student ID": from the list, and from every push of
// a question's answers (so the button says it with the panel closed)
function withoutId(count) {
  const badge = $("noid-badge");
  const warning = $("noid-warning");
  const none = !count || !count.answers;
  badge.hidden = warning.hidden = none;
  if (none) return;
  const answersText = `${count.answers} answer${count.answers === 1 ? "" : "s"}`;
  badge.textContent = ` · ⚠ ${answersText} without ID`;
  warning.textContent = `⚠ ${answersText} from ${count.students} student${count.students === 1 ? "" : "s"} without a student ID: Canvas cannot match them to a student.`;
}

async function save(layout, name) {
  const line = $("gradebook-status");
  try {
    const assignment = layout === "canvas" ? $("canvas-assignment-id").value.trim() : "";
    const blob = await answers.resultsCsv(room, layout, key(), assignment);
    const link = el("a", { href: URL.createObjectURL(blob), download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
    line.textContent = `${name} saved.`;
  } catch (error) {
    line.textContent = error.message;
  }
}

async function act(promise, done) {
  asked += 1; // a refresh already on its way must not draw the list from before
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
    const data = await answers.students(room, key());
    if (mine === asked) draw(data);
  } catch (error) {
    if (mine === asked) say(error.message);
  }
}

async function countWithoutId() { // once, at load: the panel may stay closed
  try {
    withoutId((await answers.students(room, key())).without_id);
  } catch { /* the key is not there yet, or the room is reopening: the next push says it */ }
}

new ResizeObserver(() => { if (!panel.hidden) place(); }).observe(document.querySelector(".demo-bar"));
$("export-results").addEventListener("click", () => save("generic", `convlens-${room}-results.csv`));
$("export-canvas").addEventListener("click", () => save("canvas", `convlens-${room}-canvas.csv`));
// the assignment's ID names the total's column, as the next Canvas CSV will
$("canvas-assignment-id").addEventListener("input", (event) => {
  const id = event.target.value.trim();
  const column = $("canvas-column");
  // an ID the server would refuse is not shown as a column: the export says why
  column.textContent = /^[0-9]{1,20}$/.test(id) ? `${column.dataset.title} (${id})` : column.dataset.title;
});
let counted = false; // the first state from the room: the key has been taken, the room is open
button.addEventListener("click", () => show(panel.hidden));
$("students-close").addEventListener("click", () => { show(false); button.focus(); });
$("students-prune").addEventListener("click", () =>
  act(answers.removeStudents(room, { never_answered: true }, key()), "Everyone who never answered is removed."));

let soon = null; // frames arriving together make one refresh
document.addEventListener("convlens:room", (event) => {
  const type = event.detail.type;
  if (type === "answers" && event.detail.without_id) withoutId(event.detail.without_id);
  if (type === "state" && !counted && key()) { // a page without the key asks nothing
    counted = true;
    countWithoutId();
  }
  if (panel.hidden || !["roster", "answers", "question"].includes(type)) return;
  clearTimeout(soon);
  soon = setTimeout(refresh, 200);
});

document.addEventListener("keydown", (event) => {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  if (event.target instanceof HTMLInputElement) return;
  const k = event.key.toLowerCase();
  if (k === "s") show(panel.hidden);
  else if (k === "escape" && !panel.hidden) { show(false); button.focus(); }
  else return;
  event.preventDefault();
});
