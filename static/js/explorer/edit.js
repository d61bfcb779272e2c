// The edit drawer: network configuration, presets, label, η, seed, and every value of X
// and of the parameters as a grid of number fields. Every change is a PATCH of the walk,
// which takes it back to its start with the new example; the page draws the answer.

import { readNumber } from "../common/format.js";
import { CONFIG_KEYS, networkSpec } from "./url.js";
import { checkNetwork, layerName, problemText, serverProblems, withDefaults } from "./network-check.js";
import { setupBatchEditor } from "./edit-batch.js";

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
  // one table per 2-D plane: [prefix, plane] (a conv's (K, C, k, k) weights: K×C planes)
  const fourD = Array.isArray(value[0]) && Array.isArray(value[0][0]) && Array.isArray(value[0][0][0]);
  const threeD = !fourD && Array.isArray(value[0]) && Array.isArray(value[0][0]);
  const planes = fourD ? value.flatMap((f, i) => f.map((plane, c) => [[i, c], plane]))
    : threeD ? value.map((plane, f) => [[f], plane]) : [[[], value]];
  planes.forEach(([prefix, plane]) => {
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
      const index = prefix.length ? [...prefix, r, c] : Array.isArray(plane[0]) ? [r, c] : [c];
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
  let loading = null; // {size, promise}: the presets and samples of one input size
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

  // Once per input size: every caller (the drawer, the batch editor) waits for the same
  // answer, so nothing reads the lists half loaded.
  function loadPresets(size) {
    if (!loading || loading.size !== size) {
      const promise = fetchPresets(size).catch((error) => {
        if (loading && loading.promise === promise) loading = null; // asked again next time
        throw error;
      });
      loading = { size, promise };
    }
    return loading.promise;
  }

  async function fetchPresets(size) {
    const patterns = await api.presets(size);
    if (loading && loading.size !== size) return; // another size was asked for since
    presets = patterns;
    try {
      const sets = await api.datasets(size);
      datasetSamples = sets.flatMap((d) => d.samples.slice(0, 2).map((s, i) => ({
        name: `${d.name}:${i}`, title: `${d.title}, example ${i + 1} (Y = ${s.y})`, x: s.x, y: s.y,
      })));
    } catch {
      datasetSamples = [];
    }
    if (loading && loading.size !== size) return;
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

  // A field shows the walk's value, unless it is being typed in: a refresh that lands
  // between typing and Enter (the presets arriving, say) must not put the old value back,
  // or the change is never sent.
  const show = (id, value) => {
    if (document.activeElement !== $(id)) $(id).value = value;
  };

  // The fields show the walk as the server holds it.
  function refresh() {
    const { walk } = store.get();
    const shortcut = walk.config || seedShapeOf(walk.network);
    for (const key of CONFIG_KEYS) show(`cfg-${key}`, shortcut[key]);
    labelOptions(walk.network);
    $("label-y").value = String(walk.tensors.Y);
    const from = [...presets, ...datasetSamples].find((p) => p.name === (store.get().start.presetName || shownSample));
    $("label-note").textContent = from && from.y === walk.tensors.Y
      ? `Y = ${walk.tensors.Y} is the label of "${from.title.replace(/ \(Y = \d\)$/, "")}".`
      : `Y = ${walk.tensors.Y}, set by hand.`;
    show("lr", String(walk.lr));
    show("seed", String(walk.seed));
    $("cfg-params").textContent = walk.config ? `${walk.network.n_params} trainable parameters`
      : `${walk.network.n_params} trainable parameters; this network is not the seed's shape (changing a size here makes it so)`;
    layers.refresh(walk);
    batch.refresh();
    const box = $("editors");
    box.replaceChildren();
    box.append(grid("X", walk.tensors.X, (index, v) => {
      shownSample = "";
      store.set({ start: { ...store.get().start, presetName: null } });
      send(batch.withExample(setAt(store.get().walk.tensors.X, index, v), store.get().walk.tensors.Y));
    }));
    for (const name of walk.network.params) { // the server's names (W1 b1 W2 b2 ...)
      box.append(grid(name, walk.params[name], (index, v) => {
        send({ params: { [name]: setAt(store.get().walk.params[name], index, v) } }, { edited: true });
      }));
    }
    loadPresets(walk.network.input.size).then(() => {
      $("preset").value = store.get().start.presetName || shownSample || "";
      if (!from && (store.get().start.presetName || shownSample)) refresh(); // the note, now the presets are here
      else batch.refresh(); // the batch's titles, now the presets are here
    });
  }

  // One PATCH; the walk is back at its start. edited: the parameters were typed by hand
  // (a link must carry them); false: they are the seed's again.
  async function send(body, { edited } = {}) {
    $("edit-error").textContent = "";
    const example = store.get().walk.example || 0;
    await stepping.patch(body);
    // a mini-batch walk stays on the example it showed (the answer shows the first)
    if (example && store.get().walk.batch > example) await stepping.showExample(example);
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
    if (config.input_size !== store.get().walk.network.input.size) {
      await loadPresets(config.input_size);
      // A new input size needs a new image: the same pattern at that size, if it was one.
      const keep = presets.find((p) => p.name === store.get().start.presetName) || presets[0];
      Object.assign(body, { x: keep.x, y: keep.y });
      store.set({ start: { ...store.get().start, presetName: keep.name } });
    }
    await send(body, { edited: false });
  }

  for (const key of CONFIG_KEYS) $(`cfg-${key}`).addEventListener("change", changeConfig);
  const batch = setupBatchEditor({
    store, examples: () => [...presets, ...datasetSamples], send,
    ready: () => loadPresets(store.get().walk.network.input.size),
  });
  const layers = setupLayers({ store, api, stepping, loadPresets: (size) => loadPresets(size), after: (size) => {
    // a new input size: the server drew the vertical stroke at that size
    if (size !== undefined) store.set({ start: { ...store.get().start, presetName: "vertical_stroke", params: null } });
    else store.set({ start: { ...store.get().start, params: null } });
    shownSample = "";
    refresh();
  } });
  $("preset").addEventListener("change", async () => {
    const name = $("preset").value;
    const chosen = [...presets, ...datasetSamples].find((p) => p.name === name);
    if (!chosen) return;
    store.set({ start: { ...store.get().start, presetName: presets.includes(chosen) ? name : null } });
    await send(batch.withExample(chosen.x, chosen.y, chosen.title.replace(/ \(Y = \d+\)$/, "")));
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
    send(store.get().walk.batch > 1 ? batch.withExample(store.get().walk.tensors.X, y) : { y });
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

  // The label's choices: 0 and 1, or a softmax network's classes 0 .. C-1.
  function labelOptions(network) {
    const last = network.nodes[network.nodes.length - 1];
    const classes = network.output === "softmax_ce" ? last.in_shape[0] : 2;
    const select = $("label-y");
    const want = network.output === "softmax_ce" ? Array.from({ length: classes }, (_, i) => String(i)) : ["1", "0"];
    if ([...select.options].map((o) => o.value).join() === want.join()) return;
    select.replaceChildren(...want.map((v) => new Option(v, v)));
  }

  // Painting: a click on an X cell sets it to the brush value while the drawer is open.
  function paint(index) {
    if ($("drawer-edit").hidden) return false;
    const brush = Number($("brush").value);
    if (!Number.isFinite(brush)) return false;
    shownSample = "";
    store.set({ start: { ...store.get().start, presetName: null } });
    send(batch.withExample(setAt(store.get().walk.tensors.X, index, brush), store.get().walk.tensors.Y));
    return true;
  }

  return { refresh, paint, toast, loadPresets };
}

// The four sizes nearest a network (its input, its first conv and pool), for the seed's
// shortcut fields when the walk's network is not seed-shaped.
function seedShapeOf(network) {
  const conv = network.layers.find((l) => l.type === "conv") || {};
  const pool = network.layers.find((l) => /pool$/.test(l.type)) || {};
  return { input_size: network.input.size, kernel_size: conv.kernel ?? 3, filters: conv.filters ?? 1, pool_size: pool.size ?? 2 };
}

// ------------------------------------------------------------------ the layer list
// A draft of the network, edited layer by layer (add, remove, move, each option), checked
// on the page at every change (network-check.js, the engine's rules) and sent only when it
// fits and "Build this network" is pressed. The server checks it again; what it refuses is
// listed the same way.
function setupLayers({ store, api, stepping, after }) {
  const meta = store.get().meta;
  const kinds = meta.kinds.filter((k) => k.role !== "output");
  const kindOf = Object.fromEntries(kinds.map((k) => [k.type, k]));
  const limits = meta.network_limits;
  let draft = null; // {input: {size}, layers, output}
  let base = ""; // the walk's network the draft started from (JSON)

  $("net-input").min = String(limits.input_min);
  $("net-input").max = String(limits.input_max);
  $("add-kind").replaceChildren(...kinds.map((k) => new Option(`${k.title} (${k.type})`, k.type)));

  const fresh = (type) => withDefaults({ type }, kindOf[type]);

  function refresh(walk) {
    const spec = JSON.stringify(networkSpec(walk.network));
    if (spec === base && draft) return; // a draft being edited stays
    base = spec;
    draft = structuredClone(networkSpec(walk.network));
    draw();
  }

  const changed = () => JSON.stringify(draft) !== base;

  function placeOptions() {
    const select = $("add-at");
    const keep = select.value;
    const options = [new Option("first", "0")];
    draft.layers.forEach((layer, i) => options.push(new Option(`after ${layerName(i, layer.type).toLowerCase()}`, String(i + 1))));
    select.replaceChildren(...options);
    // by default a new layer goes before the flatten (a conv block) or before the last layer
    const flat = draft.layers.findIndex((l) => l.type === "flatten");
    const fallback = String(flat >= 0 ? flat : Math.max(0, draft.layers.length - 1));
    select.value = [...select.options].some((o) => o.value === keep) && keep !== "" ? keep : fallback;
  }

  function optionInput(layer, i, key, option) {
    const label = document.createElement("label");
    label.className = "layer-option";
    const input = document.createElement("input");
    input.type = "number";
    input.autocomplete = "off";
    input.min = String(option.min);
    input.max = String(option.max);
    input.step = option.type === "int" ? "1" : "any";
    input.value = Number.isFinite(layer[key]) ? String(layer[key]) : "";
    input.dataset.option = key;
    input.setAttribute("aria-label", `${layerName(i)} ${key}`);
    input.addEventListener("change", () => {
      const value = input.value.trim() === "" ? NaN : Number(input.value);
      // a pool's stride follows its size until it is set apart
      if (key === "size" && /pool$/.test(layer.type) && layer.stride === layer.size) draft.layers[i].stride = value;
      draft.layers[i][key] = value;
      draw({ focus: [i, `option-${key}`] });
    });
    label.append(document.createTextNode(key), input);
    return label;
  }

  function button(text, label, onClick, disabled = false) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.setAttribute("aria-label", label);
    b.disabled = disabled;
    b.addEventListener("click", onClick);
    return b;
  }

  function move(i, by) {
    const [layer] = draft.layers.splice(i, 1);
    draft.layers.splice(i + by, 0, layer);
    draw({ focus: [i + by, by < 0 ? "up" : "down"] });
  }

  function draw({ focus } = {}) {
    $("net-input").value = Number.isFinite(draft.input.size) ? String(draft.input.size) : "";
    $("net-output").value = draft.output;
    const list = $("layer-list");
    list.replaceChildren();
    const n = draft.layers.length;
    draft.layers.forEach((layer, i) => {
      const item = document.createElement("li");
      item.className = "layer-item";
      item.dataset.index = String(i);
      const head = document.createElement("div");
      head.className = "layer-head";
      const kindLabel = document.createElement("label");
      kindLabel.className = "layer-kind";
      const select = document.createElement("select");
      select.autocomplete = "off";
      select.setAttribute("aria-label", `${layerName(i)} kind`);
      select.dataset.control = "kind";
      select.replaceChildren(...kinds.map((k) => new Option(k.title, k.type)));
      select.value = layer.type;
      select.addEventListener("change", () => {
        draft.layers[i] = fresh(select.value);
        draw({ focus: [i, "kind"] });
      });
      kindLabel.append(document.createTextNode(layerName(i)), select);
      const moves = document.createElement("span");
      moves.className = "layer-moves";
      const up = button("Up", `Move ${layerName(i).toLowerCase()} up`, () => move(i, -1), i === 0);
      up.dataset.control = "up";
      const down = button("Down", `Move ${layerName(i).toLowerCase()} down`, () => move(i, 1), i === n - 1);
      down.dataset.control = "down";
      const remove = button("Remove", `Remove ${layerName(i).toLowerCase()}`, () => {
        draft.layers.splice(i, 1);
        draw({ focus: draft.layers.length ? [Math.min(i, draft.layers.length - 1), "remove"] : ["add"] });
      });
      remove.dataset.control = "remove";
      moves.append(up, down, remove);
      head.append(kindLabel, moves);
      item.append(head);
      const options = Object.entries(kindOf[layer.type] ? kindOf[layer.type].options : {});
      if (options.length) {
        const row = document.createElement("div");
        row.className = "layer-options";
        for (const [key, option] of options) {
          const el = optionInput(layer, i, key, option);
          el.querySelector("input").dataset.control = `option-${key}`;
          row.append(el);
        }
        item.append(row);
      }
      list.append(item);
    });
    placeOptions();
    check();
    if (focus) {
      const [i, control] = focus;
      const target = i === "add" ? $("add-kind")
        : list.querySelector(`.layer-item[data-index="${i}"] [data-control="${control}"]`);
      // a button disabled at the end of the list passes the focus to its other arrow
      const usable = target && !target.disabled ? target
        : list.querySelector(`.layer-item[data-index="${i}"] [data-control="${control === "up" ? "down" : "up"}"]`);
      if (usable) usable.focus();
    }
  }

  function show(problems) {
    const box = $("net-problems");
    box.replaceChildren(...problems.map((p) => Object.assign(document.createElement("li"), { textContent: problemText(p, draft.layers) })));
    for (const item of $("layer-list").children) {
      item.classList.toggle("refused", problems.some((p) => p.index === Number(item.dataset.index)));
    }
  }

  // The draft's problems, shown at once; true when it fits.
  function check() {
    const result = checkNetwork(draft, meta);
    show(result.problems);
    $("net-summary").textContent = result.problems.length
      ? `${result.problems.length} problem${result.problems.length > 1 ? "s" : ""}: this network cannot be built yet.`
      : `${draft.layers.length} layers, ${result.nParams} trainable parameters${changed() ? " (not built yet: press Build this network)" : " (the walk's network)"}.`;
    $("btn-net-revert").disabled = !changed();
    return result.problems.length === 0;
  }

  $("net-input").addEventListener("change", () => {
    draft.input.size = $("net-input").value.trim() === "" ? NaN : Number($("net-input").value);
    draw();
  });
  $("net-output").addEventListener("change", () => {
    draft.output = $("net-output").value;
    draw();
  });
  $("btn-add-layer").addEventListener("click", () => {
    const at = Number($("add-at").value);
    draft.layers.splice(at, 0, fresh($("add-kind").value));
    $("add-at").value = "";
    draw({ focus: [at, "kind"] });
  });
  $("btn-net-revert").addEventListener("click", () => {
    draft = JSON.parse(base);
    draw();
  });
  $("btn-net-apply").addEventListener("click", () => {
    if (!check()) {
      $("net-problems").firstElementChild?.scrollIntoView({ block: "nearest" });
      return; // nothing is sent: the list says why
    }
    const spec = structuredClone(draft);
    const oldSize = store.get().walk.network.input.size;
    stepping.run(async () => {
      try {
        stepping.applyView(await api.patch(store.get().walk.id, { network: spec }));
      } catch (error) {
        show(serverProblems(error.detail));
        $("net-summary").textContent = "The server refused this network:";
        return;
      }
      draft = null;
      after(spec.input.size !== oldSize ? spec.input.size : undefined);
    });
  });

  return { refresh };
}
