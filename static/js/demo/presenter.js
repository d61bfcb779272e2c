// The presenter's page: the key, the keyboard, auto-advance, zoom, notes, full screen.
// Every move goes to the room (over the socket, or the API when the socket is down); the
// page draws the beat at once and the audience's pages draw it when the room tells them.

import { api } from "../common/api.js";
import { RoomSocket } from "./socket.js";
import { SlideView } from "./slide.js";

const KEY_STORE = "convlens-demo-key"; // sessionStorage: survives a reload of this tab only
const ZOOM_STORE = "convlens-demo-zoom";
const $ = (id) => document.getElementById(id);

const root = $("demo-root");
const room = root.dataset.room;
const view = new SlideView();
let key = null;
let views = null; // every beat's view, with notes (from the lesson, with the key)
let socket = null;
let beat = 0;
let playing = null;
// The page draws its own moves at once. Each carries a mark of the page's making, which
// the room's state brings back: a state with one of these marks only echoes a move already
// drawn. Any other state is news (another presenter's tab, or the state sent on connecting)
// and is drawn, unless it is older than one already seen or a move of this page is still
// on its way, which would make the page jump back and forth.
const pageMark = Math.random().toString(36).slice(2, 10) || "page";
const mine = new Set();
const unanswered = new Set(); // marks of moves sent over the socket, not yet echoed
let lastMark = null; // this page's latest move
let behind = false; // the room did not take this page's latest move: send the slide again
let drops = 0; // moves the room refused in a row: after MAX_RESENDS, only a key press sends
const MAX_RESENDS = 3;
let moveAlert = false; // the alert shown is about a move, cleared once the room has the slide
let posts = 0; // moves sent over HTTP and not yet answered
let posting = Promise.resolve(); // those go one after another, in order
let newestSeq = -1;
let moves = 0;

// The key arrives once in the link, then leaves the address bar (which the room can see on
// the projector) for this tab's session storage.
function takeKey() {
  const params = new URLSearchParams(location.search);
  const given = params.get("key");
  if (given) {
    sessionStorage.setItem(KEY_STORE, given);
    params.delete("key");
    const rest = params.toString();
    history.replaceState(null, "", `${location.pathname}${rest ? `?${rest}` : ""}${location.hash}`);
  }
  return sessionStorage.getItem(KEY_STORE);
}

function alertBox(message) {
  const box = $("alert");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(status, detail) {
  if (status === "connecting") newestSeq = -1; // a restarted server counts from 0 again
  const el = $("status");
  el.dataset.connection = status;
  el.textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", "no-room": "no such room" }[status] || status;
  el.title = detail || "Connection to the server";
  if (status === "no-room" && key) reopen();
}

// The room closed (idle for hours) or the server started afresh with this key: open it
// again under the same code, so the audience's link keeps working, then reconnect.
async function reopen() {
  try {
    const opened = await api.demoOpen(room, key);
    if (opened.created && beat > 0) send(beat); // the room starts where this page is
    socket.reconnectNow();
  } catch (error) {
    alertBox(`The room could not be opened again: ${error.message}`);
  }
}

function setFollowers(count) {
  $("followers").textContent = `${count} following`;
  $("followers").dataset.count = String(count);
}

// ------------------------------------------------------------------------------ moving
function goto(target) {
  if (!key || !views) return;
  const next = Math.max(0, Math.min(views.length - 1, target));
  if (next === beat && view.beat === beat) return;
  beat = next;
  draw(views[beat]);
  send(beat);
}

function draw(shown) {
  view.show(shown);
  showNotes(shown);
}

function send(target) {
  moves += 1;
  const move = { beat: target, by: `${pageMark}-${moves}` };
  mine.add(move.by);
  lastMark = move.by;
  // Over the socket when it is ready, and no move sent over HTTP is still on its way
  // (a later move must not overtake it).
  if (!posts && socket && socket.authed && socket.send({ type: "goto", ...move })) {
    unanswered.add(move.by);
    return;
  }
  posts += 1;
  posting = posting
    .then(() => api.demoGoto(room, move.beat, key, move.by))
    .then((state) => { newestSeq = Math.max(newestSeq, state.seq); })
    .catch((error) => {
      if (move.by === lastMark) behind = true; // sent again once the socket is back in
      moveAlert = true;
      alertBox(`The move did not reach the room: ${error.message}`);
    })
    .finally(() => { posts -= 1; });
}

function fromRoom(data) {
  if (data.type === "state") {
    setFollowers(data.followers);
    unanswered.delete(data.by);
    if (data.by === lastMark) { // the room has the page's slide
      behind = false;
      drops = 0;
      if (moveAlert) alertBox("");
      moveAlert = false;
    }
    const stale = data.seq < newestSeq;
    newestSeq = Math.max(newestSeq, data.seq);
    if (mine.has(data.by) || stale || unanswered.size || posts) return;
    if (data.beat !== beat || view.beat !== data.beat) {
      beat = data.beat;
      draw(views ? views[beat] : data.view); // without the key: what the audience sees
    }
  } else if (data.type === "auth" && data.ok && (unanswered.size || behind)) {
    // Moves sent just before the last connection dropped, or refused, may be lost: tell
    // the room again (not for ever: a room that keeps refusing waits for a key press).
    unanswered.clear();
    behind = false;
    if (drops < MAX_RESENDS) send(beat);
  } else if (data.type === "dropped") {
    // The room could not take a move (its shared state is away): the server closes this
    // socket, and the slide is sent again once the page is back in.
    if (data.by === lastMark) behind = true;
    drops += 1;
    moveAlert = true;
    alertBox(drops < MAX_RESENDS
      ? `The move did not reach the room (${data.detail || "dropped"}): the page sends its slide again as soon as the room is back.`
      : `The room keeps refusing moves (${data.detail || "dropped"}): press → or ← to try again.`);
  } else if (data.type === "followers") {
    setFollowers(data.count);
  } else if (data.type === "auth" && !data.ok) {
    readOnly(`The presenter key was refused${data.detail ? ` (${data.detail})` : ""}: this page now only follows the room.`);
  }
}

function readOnly(message) {
  key = null;
  sessionStorage.removeItem(KEY_STORE);
  document.body.classList.add("read-only");
  for (const id of ["btn-prev", "btn-next", "btn-play", "speed"]) $(id).disabled = true;
  alertBox(message);
}

// ------------------------------------------------------------------------------ playing
function setPlaying(on) {
  clearInterval(playing);
  playing = null;
  const button = $("btn-play");
  button.setAttribute("aria-pressed", String(on));
  button.setAttribute("aria-label", on ? "Pause" : "Play");
  button.textContent = on ? "Pause" : "Play";
  if (!on || !key) return;
  playing = setInterval(() => {
    if (beat >= views.length - 1) setPlaying(false);
    else goto(beat + 1);
  }, Number($("speed").value) * 1000);
}

// ------------------------------------------------------------------------ zoom, notes
function setZoom(zoom) {
  const z = Math.max(0.6, Math.min(2, Math.round(zoom * 100) / 100));
  localStorage.setItem(ZOOM_STORE, String(z));
  view.setZoom(z);
}

function showNotes(shown) {
  const lines = [];
  if (shown && shown.notes) lines.push(shown.notes);
  if (shown && shown.answer && !shown.revealed) lines.push(`Answer to come: ${shown.answer}`);
  $("notes-text").textContent = lines.length ? lines.join(" · ") : "No notes for this slide.";
}

function toggle(id, button) {
  const panel = $(id);
  panel.hidden = !panel.hidden;
  if (id === "join-panel") panel.style.top = `${document.querySelector(".demo-bar").getBoundingClientRect().bottom}px`;
  if (button) $(button).setAttribute("aria-pressed", String(!panel.hidden));
}

function fullscreen() {
  if (document.fullscreenElement) document.exitFullscreen();
  else document.documentElement.requestFullscreen().catch(() => {});
}

function keyboard(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  // (the students' list and the concept check are pages of their own: their buttons take the keys)
  if (target.closest && target.closest("input:not([type=range]), select, textarea, #students-panel, #check-panel")) return;
  // Keys drive the lesson, not the focused control: space must not also press a button,
  // nor an arrow move the speed slider.
  if (target.tagName === "BUTTON" || target.tagName === "INPUT") target.blur();
  const k = event.key;
  if (k === "ArrowRight" || k === " " || k === "PageDown") goto(beat + 1);
  else if (k === "ArrowLeft" || k === "PageUp") goto(beat - 1);
  else if (k === "Home") goto(0);
  else if (k === "End") goto(Infinity);
  else if (k === "p" || k === "P") setPlaying(playing === null);
  else if (k === "f" || k === "F") fullscreen();
  else if (k === "+" || k === "=") setZoom(view.zoom * 1.1);
  else if (k === "-" || k === "_" || k === "−") setZoom(view.zoom / 1.1);
  else if (k === "0") setZoom(1);
  else if (k === "n" || k === "N") toggle("notes", "btn-notes");
  else if (k === "j" || k === "J") toggle("join-panel", "btn-join");
  else if (k === "Escape" && !$("join-panel").hidden) toggle("join-panel", "btn-join");
  else if (k === "?") toggle("keys-help");
  else return;
  event.preventDefault();
}

// ------------------------------------------------------------------------------- start
async function start() {
  key = takeKey();
  view.setZoom(Number(localStorage.getItem(ZOOM_STORE)) || 1);
  const joinUrl = root.dataset.joinUrl; // the server's, as in the QR code
  $("join").textContent = `Follow: ${joinUrl.replace(/^https?:\/\//, "")}`;
  $("join").title = `The audience's link: ${joinUrl}`;
  if (key) {
    try {
      await api.demoOpen(room, key);
    } catch (error) {
      if (error.status === 403) readOnly("The presenter key is wrong: this page only follows the room. Use the presenter link `convlens demo` printed.");
      else alertBox(`The room could not be opened: ${error.message}`);
    }
  } else {
    readOnly("This page needs the presenter key: open the presenter link `convlens demo` printed. Until then it only follows the room.");
  }
  if (key) {
    try {
      views = (await api.demoLesson(key)).views || null;
    } catch (error) {
      alertBox(`The lesson could not be loaded: ${error.message}`);
      return;
    }
  }
  try {
    const state = await api.demoState(room);
    beat = state.beat;
    draw(views ? views[beat] : state.view);
  } catch (error) {
    if (views) draw(views[beat]);
    else alertBox(`The room could not be reached: ${error.message}`);
  }
  socket = new RoomSocket(room, { key, message: fromRoom, status: setStatus });
  socket.connect();
  $("btn-next").addEventListener("click", () => goto(beat + 1));
  $("btn-prev").addEventListener("click", () => goto(beat - 1));
  $("btn-play").addEventListener("click", () => setPlaying(playing === null));
  $("btn-notes").addEventListener("click", () => toggle("notes", "btn-notes"));
  $("btn-join").addEventListener("click", () => toggle("join-panel", "btn-join"));
  $("btn-help").addEventListener("click", () => toggle("keys-help"));
  $("speed").addEventListener("input", () => {
    $("speed-value").textContent = `${$("speed").value} s`;
    if (playing !== null) setPlaying(true);
  });
  document.addEventListener("keydown", keyboard);
  document.body.classList.add("ready");
}

if (window.Plotly) start();
else window.addEventListener("load", start, { once: true });
