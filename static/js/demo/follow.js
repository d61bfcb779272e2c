// The audience's page: draws whatever beat the room is on. It never moves the lesson; its
// keys only zoom and go full screen on this screen.

import { api } from "../common/api.js";
import { RoomSocket } from "./socket.js";
import { SlideView } from "./slide.js";

const ZOOM_STORE = "convlens-follow-zoom";
const $ = (id) => document.getElementById(id);

const room = $("demo-root").dataset.room;
const view = new SlideView();

function note(message) {
  const box = $("alert");
  box.textContent = message;
  box.hidden = !message;
  clearTimeout(note.timer);
  if (message) note.timer = setTimeout(() => { box.hidden = true; }, 3000);
}

function setStatus(status) {
  const el = $("status");
  el.dataset.connection = status;
  el.textContent = { live: "live", connecting: "connecting…", reconnecting: "reconnecting…", "no-room": "no such room" }[status] || status;
  if (status === "no-room") {
    note("There is no such room: check the audience link the presenter shared.");
  }
}

// Each state carries the view of the room's beat: what has been shown, and nothing more.
function fromRoom(data) {
  if (data.type !== "state" || !data.view) return;
  if (data.beat !== view.beat) view.show(data.view);
}

function setZoom(zoom) {
  const z = Math.max(0.6, Math.min(2, Math.round(zoom * 100) / 100));
  localStorage.setItem(ZOOM_STORE, String(z));
  view.setZoom(z);
}

function keyboard(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const k = event.key;
  if (k === "+" || k === "=") setZoom(view.zoom * 1.1);
  else if (k === "-" || k === "_" || k === "−") setZoom(view.zoom / 1.1);
  else if (k === "0") setZoom(1);
  else if (k === "f" || k === "F") {
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen().catch(() => {});
  } else if (["ArrowRight", "ArrowLeft", " ", "PageDown", "PageUp", "Home", "End"].includes(k)) {
    note("The presenter moves the lesson; this page follows.");
  } else return;
  event.preventDefault();
}

async function start() {
  view.setZoom(Number(localStorage.getItem(ZOOM_STORE)) || 1);
  const socket = new RoomSocket(room, { message: fromRoom, status: setStatus });
  socket.connect();
  try {
    const state = await api.demoState(room);
    if (view.beat === -1) view.show(state.view); // unless the socket was faster
  } catch (error) {
    if (error.status !== 404) note(`The lesson could not be loaded: ${error.message}`);
  }
  document.addEventListener("keydown", keyboard);
  document.body.classList.add("ready");
}

if (window.Plotly) start();
else window.addEventListener("load", start, { once: true });
