// The edit drawer: network configuration, presets, label, η, seed, and every value of X
// and of the parameters as a grid of number fields. Any change recomputes at once.

const $ = (id) => document.getElementById(id);
const CONFIG_KEYS = ["input_size", "kernel_size", "filters", "pool_size"];

export function openDrawer(name) {
  for (const drawer of document.querySelectorAll(".drawer")) {
    const open = drawer.id === `drawer-${name}` && drawer.hidden;
    drawer.hidden = !open;
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
      input.type = "number";
      input.step = "any";
      input.value = String(Number(v.toPrecision(4)));
      input.title = String(v);
      const index = threeD ? [f, r, c] : Array.isArray(plane[0]) ? [r, c] : [c];
      input.setAttribute("aria-label", `${label}[${index.join(",")}]`);
      input.dataset.index = index.join(",");
      input.addEventListener("change", () => {
        const number = Number(input.value);
        if (input.value.trim() === "" || !Number.isFinite(number)) {
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

export function setupEditors({ store, api, recompute, toast }) {
  let presets = [];
  let presetsSize = 0;
  let datasetSamples = [];
  let shownSample = ""; // a dataset sample picked in the preset list, until X is edited

  for (const button of document.querySelectorAll("[data-drawer]")) {
    button.addEventListener("click", () => openDrawer(button.dataset.drawer));
  }
  for (const button of document.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => {
      const target = $(button.dataset.close) || $(`drawer-${button.dataset.close}`);
      target.hidden = true;
      openDrawer("none");
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
      for (const p of items) og.append(new Option(p.title, p.name));
      select.append(og);
    };
    select.append(new Option("(edited by hand)", ""));
    group("Patterns", presets);
    if (datasetSamples.length) group("Dataset samples", datasetSamples);
  }

  function refresh() {
    const s = store.get();
    for (const key of CONFIG_KEYS) $(`cfg-${key}`).value = s.config[key];
    $("label-y").value = String(s.y);
    $("lr").value = String(s.lr);
    $("seed").value = String(s.seed);
    $("preset").value = s.presetName || "";
    const trace = s.trace;
    $("cfg-params").textContent = trace ? `${trace.config.n_params} trainable parameters` : "";
    const box = $("editors");
    box.replaceChildren();
    box.append(grid("X", s.x, (index, v) => {
      shownSample = "";
      store.set({ x: setAt(store.get().x, index, v), presetName: null });
      recompute().then(refresh);
    }));
    if (trace) {
      for (const name of ["W1", "b1", "W2", "b2"]) {
        box.append(grid(name, trace.params[name], (index, v) => {
          const params = { ...store.get().params, [name]: setAt(store.get().params[name], index, v) };
          store.set({ params, paramsEdited: true });
          recompute().then(refresh);
        }));
      }
    }
    loadPresets(s.config.input_size).then(() => {
      $("preset").value = store.get().presetName || shownSample || "";
    });
  }

  // Why a configuration cannot be built, or "" when it can (the server checks it again).
  function configProblem(config) {
    const limits = (store.get().meta && store.get().meta.limits) || {};
    const names = { input_size: "Input size n", kernel_size: "Kernel size k", filters: "Filters K", pool_size: "Pool size p" };
    for (const key of CONFIG_KEYS) {
      const [lo, hi] = limits[key] || [1, 99];
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
    const before = store.get();
    const previous = {
      config: before.config, x: before.x, presetName: before.presetName, params: before.params,
      paramsEdited: before.paramsEdited, cursor: before.cursor, pass: before.pass, history: before.history,
    };
    const patch = { config, params: null, paramsEdited: false, cursor: -1, pass: 1, history: [] };
    if (config.input_size !== before.config.input_size) {
      try {
        await loadPresets(config.input_size);
      } catch (error) {
        $("edit-error").textContent = error.message;
        return;
      }
      // A new input size needs a new image: the same pattern at that size, if it was one.
      const keep = presets.find((p) => p.name === before.presetName) || presets[0];
      Object.assign(patch, { x: keep.x, presetName: keep.name });
    }
    store.set(patch);
    await recompute();
    if (store.get().error) {
      const message = store.get().error;
      store.set(previous);
      await recompute();
      $("edit-error").textContent = message;
    } else {
      $("edit-error").textContent = "";
    }
    refresh();
  }

  for (const key of CONFIG_KEYS) $(`cfg-${key}`).addEventListener("change", changeConfig);
  $("preset").addEventListener("change", async () => {
    const name = $("preset").value;
    const chosen = [...presets, ...datasetSamples].find((p) => p.name === name);
    if (!chosen) return;
    store.set({ x: chosen.x, y: chosen.y, presetName: presets.includes(chosen) ? name : null, cursor: -1 });
    await recompute();
    refresh();
    shownSample = presets.includes(chosen) ? "" : name;
    $("preset").value = name;
  });
  $("label-y").addEventListener("change", async () => {
    store.set({ y: Number($("label-y").value) });
    await recompute();
  });
  $("lr").addEventListener("change", async () => {
    const lr = Number($("lr").value);
    const max = store.get().meta ? store.get().meta.lr_max : 100;
    if ($("lr").value.trim() === "" || !(lr > 0 && lr <= max)) {
      $("edit-error").textContent = `η must be above 0 and at most ${max}.`;
      return;
    }
    store.set({ lr });
    await recompute();
  });
  $("seed").addEventListener("change", async () => {
    const seed = Number($("seed").value);
    if ($("seed").value.trim() === "" || !Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) {
      $("edit-error").textContent = "The seed is a whole number from 0 to 4294967295.";
      return;
    }
    store.set({ seed, params: null, paramsEdited: false, cursor: -1, pass: 1 });
    await recompute();
    refresh();
  });

  // Painting: a click on an X cell sets it to the brush value while the drawer is open.
  function paint(index) {
    if ($("drawer-edit").hidden) return;
    const brush = Number($("brush").value);
    if (!Number.isFinite(brush)) return;
    shownSample = "";
    store.set({ x: setAt(store.get().x, index, brush), presetName: null });
    recompute().then(refresh);
  }

  return { refresh, paint, toast };
}
