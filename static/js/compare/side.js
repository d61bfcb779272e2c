// One side of the comparison: its title, the step it is at (or that it waits), the step's
// formula with its numbers, the step's tensor drawn large (the pair the page puts side by
// side), and below, every tensor the walk has shown, laid out by the explorer's panels.
// The cells where the two walks differ are outlined and hatched in a corner (not colour
// alone), and each table alternative says so in words.

import { TensorView, planes } from "../common/heatmap.js";
import { wrapFormula } from "../common/formula-lines.js";
import { createPanels } from "../explorer/panels.js";

const FOCUS_CELL = 56; // at most (the explorer's PNG's size); at least 22, where a tensor is wide

// The tensor a step shows: what it writes, or at an update step the parameter after it.
export function focusOf(walk) {
  const step = walk.step;
  if (!step) return { name: "X", key: "X", value: walk.tensors.X, range: walk.ranges.X };
  if (step.phase === "update" && walk.update) {
    return { name: `new ${walk.update.name}`, key: `new ${walk.update.name}`, value: walk.update.after, range: walk.update.range };
  }
  return { name: step.writes, key: step.writes, value: walk.tensors[step.writes], range: walk.ranges[step.writes] };
}

const scalarOf = (value) => (Array.isArray(value) && !Array.isArray(value[0]) && value.length === 1 ? value[0] : value);

// Outline the differing cells of a drawn view and say it in its table; "shape": none
// (the two tensors are not alike, the panel's note says so).
export function markDiffers(view, cells, other) {
  for (const el of view.container.querySelectorAll(".differs-said")) el.remove();
  if (view.value === undefined) return;
  const list = Array.isArray(cells) ? cells : [];
  view.highlight(list.map((index) => ({ index, kind: "source" })));
  for (const index of list) {
    const td = view.tableCells.get(JSON.stringify(index));
    if (!td) continue;
    const said = document.createElement("span");
    said.className = "differs-said visually-hidden";
    said.textContent = ` (differs from network ${other})`;
    td.append(said);
  }
}

// The words beside a tensor's name: how many of its cells differ from the other walk's.
// (A panel's note is short, "≠ 3", and says the rest to a screen reader.)
export function differsCount(cells) {
  if (cells === "shape") return ["≠ shape", " from the other network's"];
  if (!Array.isArray(cells) || !cells.length) return ["", ""];
  if (cells.length === 1 && cells[0].length === 0) return ["≠", " differs from the other network's"];
  return [`≠ ${cells.length}`, ` cell${cells.length === 1 ? "" : "s"} differ from the other network's`];
}

export function differsText(cells) {
  if (cells === "shape") return "≠ shape";
  if (!Array.isArray(cells) || !cells.length) return "";
  return cells.length === 1 && cells[0].length === 0 ? "≠ differs" : `≠ ${cells.length} cell${cells.length === 1 ? "" : "s"} differ`;
}

// root: the side's half of the pair; walkRoot: its box of every tensor shown so far.
export function createSide({ letter, root, walkRoot, meta, onInspect, onPng }) {
  const other = letter === "a" ? "b" : "a";
  const q = (cls) => root.querySelector(cls);
  const forward = walkRoot.querySelector(".row.forward");
  const backward = walkRoot.querySelector(".row.backward");
  let walk = null;
  let shownFocus = null; // [key, value] drawn in the focus box
  let focusView = null;
  const probes = new Map();

  const panels = createPanels({
    meta,
    onHover: (name, index) => onInspect(name, index),
    onLeave: () => onInspect(null),
    onClick: (name, index) => onInspect(name, index),
    onKey: (event, name) => inspectWithKeys(event, name),
    onPng: (name) => onPng(letter, name, panels.view(name)),
  });

  // The explorer's panels find their two rows by id: this side's rows hold the ids while
  // they are laid out, and only then (the other side's rows take them in turn).
  function build(w) {
    forward.id = "row-forward";
    backward.id = "row-backward";
    try {
      panels.build(w);
    } finally {
      forward.removeAttribute("id");
      backward.removeAttribute("id");
    }
  }

  function inspectWithKeys(event, name) {
    const view = panels.view(name);
    const cells = view.cells();
    const moves = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: view.width(), ArrowUp: -view.width() };
    if (event.key === "Escape") {
      onInspect(null);
      event.currentTarget.blur();
    } else if (event.key in moves && cells.length) {
      const at = probes.has(name) ? probes.get(name) + moves[event.key] : 0;
      const next = Math.max(0, Math.min(cells.length - 1, at));
      probes.set(name, next);
      onInspect(name, cells[next]);
    } else if (event.key === "Enter" && probes.has(name)) {
      onInspect(name, cells[probes.get(name)]);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation(); // not the page's arrow keys, which step both walks
  }

  function renderStep(w, waits, total) {
    const step = w.step;
    const line = q(".side-step");
    root.classList.toggle("waiting", waits);
    if (waits) {
      line.textContent = step
        ? `Waits: network ${letter} has no step here. It still shows step ${step.index + 1}, ${step.writes}.`
        : `Waits: network ${letter} has no step here yet.`;
    } else {
      line.textContent = step
        ? `Step ${step.index + 1} of ${total} · ${step.phase} · ${step.phase === "update" ? "update " : ""}${step.writes}`
        : `Start · ${total} steps`;
    }
    const formula = q(".side-formula");
    const fresh = formula.cloneNode(false);
    fresh.removeAttribute("style");
    fresh.classList.remove("scrolls");
    formula.replaceWith(fresh);
    fresh.innerHTML = step && !waits ? (step.mathml_numbers || step.mathml || "") : "";
    if (fresh.innerHTML && fresh.scrollWidth > fresh.clientWidth + 1) wrapFormula(fresh, 15, { spaces: true });
    q(".side-sentence").textContent = step && !waits ? step.text : "";
  }

  // range: the colour range both sides' step tensors share (the same colour, the same
  // number), or none: its own.
  function renderFocus(w, differs, waits, range) {
    const box = q(".focus-body");
    const focus = { ...focusOf(w), ...(range ? { range } : {}) };
    const title = q(".focus-name");
    const note = q(".focus-differs");
    if (waits) {
      shownFocus = null;
      focusView = null;
      box.replaceChildren(Object.assign(document.createElement("p"), {
        className: "waits", textContent: `Network ${letter} waits: this layer is only in network ${other}.`,
      }));
      title.textContent = "waits";
      note.textContent = "";
      return;
    }
    title.textContent = focus.name;
    if (!shownFocus || shownFocus[0] !== focus.key || shownFocus[1] !== focus.value || shownFocus[2] !== JSON.stringify(focus.range)) {
      box.replaceChildren();
      const vertical = ["F", "dF"].includes(focus.name);
      const widest = focus.value === undefined ? 1 : Math.max(1, ...planes(scalarOf(focus.value), vertical).map((p) => p.z[0].length));
      const cell = Math.max(22, Math.min(FOCUS_CELL, Math.floor((box.clientWidth - 4) / widest) - 1));
      focusView = new TensorView(box, {
        name: focus.name, cell, vertical,
        onHover: (name, index) => onInspect(name, index), onLeave: () => onInspect(null),
        onClick: (name, index) => onInspect(name, index),
      });
      if (focus.value !== undefined) focusView.render(scalarOf(focus.value), focus.range);
      shownFocus = [focus.key, focus.value, JSON.stringify(focus.range)];
    }
    markDiffers(focusView, differs[focus.key], other);
    note.textContent = differsText(differs[focus.key]);
  }

  function render(w, { differs, waits, label, range }) {
    walk = w;
    q(".side-label").textContent = label;
    q(".side-network").textContent = w.network.text;
    walkRoot.querySelector(".walk-label").textContent = label;
    renderStep(w, waits, w.steps.length);
    renderFocus(w, differs, waits, range);
    panels.render(w);
    probes.clear();
    for (const name of panels.names()) {
      const view = panels.view(name);
      markDiffers(view, differs[name], other);
      const panel = walkRoot.querySelector(`.panel[data-tensor="${CSS.escape(name)}"]`);
      if (!panel) continue;
      let note = panel.querySelector(".differs-note");
      const [text, said] = w.tensors[name] === undefined ? ["", ""] : differsCount(differs[name]);
      if (!note && text) {
        note = Object.assign(document.createElement("span"), { className: "differs-note" });
        panel.querySelector("header .role").after(note);
      }
      if (note) {
        note.textContent = text;
        if (said) note.append(Object.assign(document.createElement("span"), { className: "visually-hidden", textContent: said }));
        note.title = text ? `${text.replace("≠ ", "")}${said}` : "";
      }
      panel.classList.toggle("differs", !!text);
    }
  }

  return {
    build,
    render,
    walk: () => walk,
    focus: () => (focusView && focusView.value !== undefined ? focusView : null),
  };
}
