// The edit drawer: network configuration, presets, label, η, seed, and every value of X
// and of the parameters as a grid of number fields. Every change is a PATCH of the walk,
// which takes it back to its start with the new example; the page draws the answer.

import { readNumber } from "../common/format.js";
import { CONFIG_KEYS } from "./url.js";

const $ = (id) => document.getElementById(id);

export function openDrawer(name) {
  for (const drawer of document.querySelectorAll(".drawer")) {
    const open = drawer.id === `drawer-${name}` && drawer.hidden;
    drawer.hidden = !open;
    if (open) {
      const first = drawer.querySelector("input, select, button:not(.close)");
      if (first) first.focus(); // the keyboard lands in the drawer it opened
    }
  }
  for (const button of document.querySelectorAll("[data-drawer]")) {
    const open = !$(`drawer-${button.dataset.drawer}`).hidden;
    button.setAttribute("aria-expanded", String(open));
  }
  document.body.classList.toggle("drawer-open", !!document.querySelector(".drawer:not([hidden])"));
}

function setAt(array, index, value) {
  const copy = structuredClone(array);
  let target = copy;
  for (const i of index.slice(0, -1)) target = target[i];
  target[index[index.length - 1]] = value;
  return copy;
}

function grid(label, value, onChange) {
  const wrap = document.createElement("div");
  wrap.className = "value-grid";
  const title = document.createElement("div");
  title.className = "grid-title";
  title.textContent = label;
  wrap.append(title);
  const threeD = Array.isArray(value[0]) && Array.isArray(value[0][0]);
  const planes = threeD ? value : [value];
  planes.forEach((plane, f) => {
    const rows = Array.isArray(plane[0]) ? plane : [plane];
    const table = document.createElement("div");
    table.className = "cells";
    table.style.gridTemplateColumns = `repeat(${rows[0].length}, ${label === "X" ? 4.2 : 5.8}em)`;
    rows.forEach((row, r) => row.forEach((v, c) => {
      const input = document.createElement("input");
      input.type = "text"; // (a number input refuses the decimal comma "0,5")
      input.inputMode = "decimal";
      input.autocomplete = "off"; // the walk, not the browser's form memory, fills these
      input.value = String(Number(v.toPrecision(4)));
      input.title = String(v);
      const index = threeD ? [f, r, c] : Array.isArray(plane[0]) ? [r, c] : [c];
      input.setAttribute("aria-label", `${label}[${index.join(",")}]`);
      input.dataset.index = index.join(",");
      input.addEventListener("change", () => {
        const number = readNumber(input.value);
        if (!Number.isFinite(number)) {
          input.setCustomValidity("a finite number");
          input.reportValidity();
          return;
        }
        input.setCustomValidity("");
        onChange(index, number);
      });
      table.append(input);
    }));
    wrap.append(table);
  });
  return wrap;
}

export function setupEditors({ store, api, stepping, toast }) {
  let presets = [];
  let presetsSize = 0;
  let datasetSamples = [];
  let shownSample = ""; // a dataset sample picked in the preset list, until X is edited
  const meta = store.get().meta;
  for (const key of CONFIG_KEYS) { // the limits are the server's (GET /api/meta)
    [$(`cfg-${key}`).min, $(`cfg-${key}`).max] = meta.limits[key].map(String);
  }
  $("lr").max = String(meta.lr_max);

  for (const button of document.querySelectorAll("[data-drawer]")) {
    button.addEventListener("click", () => openDrawer(button.dataset.drawer));
  }
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => {
      const target = $(button.dataset.close) || $(`drawer-${button.dataset.close}`);
      target.hidden = true;
      openDrawer("none");
      const opener = document.querySelector(`[data-drawer="${button.dataset.close}"]`);
      if (opener) opener.focus(); // the keyboard goes back to the button that opened it
    });
  }

  async function loadPresets(size) {
    if (presetsSize === size) return;
    presets = await api.presets(size);
    presetsSize = size;
    try {
      const sets = await api.datasets(size);
      datasetSamples = sets.flatMap((d) => d.samples.slice(0, 2).map((s, i) => ({
        name: `${d.name}:${i}`, title: `${d.title}, example ${i + 1} (Y = ${s.y})`, x: s.x, y: s.y,
      })));
    } catch {
      datasetSamples = [];
    }
    const select = $("preset");
    select.replaceChildren();
    const group = (label, items) => {
      const og = document.createElement("optgroup");
      og.label = label;
      for (const p of items) og.append(new Option(p.title.includes("(Y =") ? p.title : `${p.title} (Y = ${p.y})`, p.name));
      select.append(og);
    };
    select.append(new Option("(edited by hand)", ""));
    group("Patterns", presets);
    if (datasetSamples.length) group("Dataset samples", datasetSamples);
  }

  // The fields show the walk as the server holds it.
  function refresh() {
    const { walk } = store.get();
    for (const key of CONFIG_KEYS) $(`cfg-${key}`).value = walk.config[key];
    $("label-y").value = String(walk.tensors.Y);
    const from = [...presets, ...datasetSamples].find((p) => p.name === (store.get().start.presetName || shownSample));
    $("label-note").textContent = from && from.y === walk.tensors.Y
      ? `Y = ${walk.tensors.Y} is the label of "${from.title.replace(/ \(Y = \d\)$/, "")}".`
      : `Y = ${walk.tensors.Y}, set by hand.`;
    $("lr").value = String(walk.lr);
    $("seed").value = String(walk.seed);
    $("cfg-params").textContent = `${walk.config.n_params} trainable parameters`;
    const box = $("editors");
    box.replaceChildren();
    box.append(grid("X", walk.tensors.X, (index, v) => {
      shownSample = "";
      store.set({ start: { ...store.get().start, presetName: null } });
      send({ x: setAt(store.get().walk.tensors.X, index, v) });
    }));
    for (const name of store.get().meta.params) { // the server's names (GET /api/meta)
      box.append(grid(name, walk.params[name], (index, v) => {
        send({ params: { [name]: setAt(store.get().walk.params[name], index, v) } }, { edited: true });
      }));
    }
    loadPresets(walk.config.input_size).then(() => {
      $("preset").value = store.get().start.presetName || shownSample || "";
      if (!from && (store.get().start.presetName || shownSample)) refresh(); // the note, now the presets are here
    });
  }

  // One PATCH; the walk is back at its start. edited: the parameters were typed by hand
  // (a link must carry them); false: they are the seed's again.
  async function send(body, { edited } = {}) {
    $("edit-error").textContent = "";
    await stepping.patch(body);
    const walk = store.get().walk;
    const start = { ...store.get().start };
    if (edited === true) start.params = walk.params;
    if (edited === false) start.params = null;
    store.set({ start });
    refresh();
  }

  // Why a configuration cannot be built, or "" when it can (the server checks it again).
  function configProblem(config) {
    const limits = store.get().meta.limits;
    const names = { input_size: "Input size n", kernel_size: "Kernel size k", filters: "Filters K", pool_size: "Pool size p" };
    for (const key of CONFIG_KEYS) {
      const [lo, hi] = limits[key];
      if (!Number.isInteger(config[key]) || config[key] < lo || config[key] > hi) {
        return `${names[key]} must be a whole number from ${lo} to ${hi}.`;
      }
    }
    if (config.kernel_size > config.input_size) return "The kernel cannot be larger than the input (k ≤ n).";
    const m = config.input_size - config.kernel_size + 1;
    if (config.pool_size > m) return `The pool window cannot be larger than Z1, which is ${m}×${m} (p ≤ n − k + 1).`;
    return "";
  }

  async function changeConfig() {
    const config = Object.fromEntries(CONFIG_KEYS.map((k) => [k, Number($(`cfg-${k}`).value)]));
    const problem = configProblem(config);
    if (problem) {
      $("edit-error").textContent = problem;
      return;
    }
    const body = { config };
    if (config.input_size !== store.get().walk.config.input_size) {
      await loadPresets(config.input_size);
      // A new input size needs a new image: the same pattern at that size, if it was one.
      const keep = presets.find((p) => p.name === store.get().start.presetName) || presets[0];
      Object.assign(body, { x: keep.x, y: keep.y });
      store.set({ start: { ...store.get().start, presetName: keep.name } });
    }
    await send(body, { edited: false });
  }

  for (const key of CONFIG_KEYS) $(`cfg-${key}`).addEventListener("change", changeConfig);
  $("preset").addEventListener("change", async () => {
    const name = $("preset").value;
    const chosen = [...presets, ...datasetSamples].find((p) => p.name === name);
    if (!chosen) return;
    store.set({ start: { ...store.get().start, presetName: presets.includes(chosen) ? name : null } });
    await send({ x: chosen.x, y: chosen.y });
    shownSample = presets.includes(chosen) ? "" : name;
    $("preset").value = name;
  });
  // A label that differs from the chosen example's makes the example one edited by hand:
  // the preset list never shows "(Y = 1)" beside a label of 0.
  $("label-y").addEventListener("change", () => {
    const y = Number($("label-y").value);
    const from = [...presets, ...datasetSamples].find((p) => p.name === (store.get().start.presetName || shownSample));
    if (from && from.y !== y) {
      shownSample = "";
      store.set({ start: { ...store.get().start, presetName: null } });
    }
    send({ y });
  });
  $("lr").addEventListener("change", () => {
    const lr = Number($("lr").value);
    const max = store.get().meta.lr_max;
    if ($("lr").value.trim() === "" || !(lr > 0 && lr <= max)) {
      $("edit-error").textContent = `η must be above 0 and at most ${max}.`;
      return;
    }
    send({ lr });
  });
  $("seed").addEventListener("change", () => {
    const seed = Number($("seed").value);
    if ($("seed").value.trim() === "" || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
      $("edit-error").textContent = "The seed is a whole number from 0 to 4294967295.";
      return;
    }
    send({ seed }, { edited: false });
  });

  // Painting: a click on an X cell sets it to the brush value while the drawer is open.
  function paint(index) {
    if ($("drawer-edit").hidden) return false;
    const brush = Number($("brush").value);
    if (!Number.isFinite(brush)) return false;
    shownSample = "";
    store.set({ start: { ...store.get().start, presetName: null } });
    send({ x: setAt(store.get().walk.tensors.X, index, brush) });
    return true;
  }

  return { refresh, paint, toast, loadPresets };
}
