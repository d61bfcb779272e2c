// The Edit drawer's mini-batch and optimizer: how many examples the walk averages over
// (the current image first, the others the page's presets and dataset samples, each with
// its label) and which optimizer the update steps use, with its options. The limits, the
// optimizers, their options and their ranges are the server's (GET /api/meta); every change
// is a PATCH of the walk, as the drawer's other edits are.

const $ = (id) => document.getElementById(id);
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// The walk's examples as PATCH takes them: one image and label, or lists of N.
export function examplesBody(batch) {
  return batch.length === 1 ? { x: batch[0].x, y: batch[0].y } : { x: batch.map((e) => e.x), y: batch.map((e) => e.y) };
}

// An option's value, or why it is refused (the server checks it again).
function optionProblem(key, option, text) {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value)) return `${key} must be a number.`;
  const top = option.max_excluded ? `below ${option.max}` : `at most ${option.max}`;
  if (value < option.min || (option.max_excluded ? value >= option.max : value > option.max)) {
    return `${key} must be at least ${option.min} and ${top}.`;
  }
  return "";
}

// examples(): the page's presets and dataset samples for the walk's input size, each
// {name, title, x, y}; send(body): the drawer's PATCH.
// ready(): a promise of those lists being loaded.
export function setupBatchEditor({ store, examples, send, ready = async () => {} }) {
  const meta = store.get().meta;
  const optimizers = meta.optimizers;
  const size = $("batch-size");
  size.min = "1";
  size.max = String(meta.max_batch);
  const select = $("optimizer");
  select.replaceChildren(...Object.entries(optimizers).map(([type, o]) => new Option(o.title, type)));

  const error = (text) => { $("edit-error").textContent = text; };

  // The walk's examples, in order: what the page sent (the link's, or the drawer's), or
  // the one image the walk shows when it is not a batch.
  function current() {
    const { walk, start } = store.get();
    if (walk.batch > 1 && start.batch && start.batch.length === walk.batch) return start.batch;
    const from = examples().find((e) => same(e.x, walk.tensors.X) && e.y === walk.tensors.Y);
    return [{ x: walk.tensors.X, y: walk.tensors.Y, title: from ? from.title.replace(/ \(Y = \d+\)$/, "") : "the image set in Edit" }];
  }

  // The first n examples: the current image first, then the presets and samples it is not.
  function batchOf(n) {
    const first = current()[0];
    const others = examples().filter((e) => !same(e.x, first.x))
      .map((e) => ({ x: e.x, y: e.y, title: e.title.replace(/ \(Y = \d+\)$/, "") }));
    return [first, ...others].slice(0, n);
  }

  function drawList(batch) {
    const list = $("batch-list");
    list.replaceChildren(...batch.map((e, i) => Object.assign(document.createElement("li"), {
      textContent: `${e.title}, Y = ${e.y}${i === 0 ? " (the current image)" : ""}`,
    })));
  }

  let sending = false;
  size.addEventListener("change", async () => {
    const n = Number(size.value);
    if (!Number.isInteger(n) || n < 1 || n > meta.max_batch) {
      error(`N must be a whole number from 1 to ${meta.max_batch}.`);
      return;
    }
    try {
      await ready(); // the other examples are the presets and samples: wait for them
    } catch {
      /* none at hand: the batch has what there is */
    }
    const batch = batchOf(n);
    if (batch.length < n) {
      $("batch-hint").textContent = `Only ${batch.length} examples of this size are at hand: the batch has ${batch.length}.`;
    }
    store.set({ start: { ...store.get().start, batch: batch.length > 1 ? batch : null } });
    sending = true; // until the walk is the batch, a redraw must not take it for one example
    try {
      await send(examplesBody(batch));
    } finally {
      sending = false;
    }
  });

  function optimizerBody(type) {
    const body = { type };
    for (const [key, option] of Object.entries(optimizers[type].options)) {
      const input = $(`opt-${key}`);
      const problem = input ? optionProblem(key, option, input.value) : "";
      if (problem) {
        input.setAttribute("aria-invalid", "true");
        error(problem);
        return null;
      }
      if (input) input.removeAttribute("aria-invalid");
      body[key] = input ? Number(input.value) : option.default;
    }
    return body;
  }

  // The chosen optimizer's options as number fields (their limits the server's).
  function drawOptions(type, values) {
    const box = $("optimizer-options");
    box.replaceChildren();
    for (const [key, option] of Object.entries(optimizers[type].options)) {
      const label = document.createElement("label");
      const input = document.createElement("input");
      input.type = "number";
      input.id = `opt-${key}`;
      input.autocomplete = "off";
      input.step = "any";
      input.min = String(option.min);
      input.max = String(option.max);
      input.value = String(values[key] ?? option.default);
      input.addEventListener("change", () => {
        const body = optimizerBody(type);
        if (body) send({ optimizer: body });
      });
      label.append(document.createTextNode(option.text), input);
      box.append(label);
    }
    $("optimizer-about").textContent = optimizers[type].description;
  }

  select.addEventListener("change", () => {
    const type = select.value;
    drawOptions(type, {});
    const body = optimizerBody(type);
    if (body) send({ optimizer: body });
  });

  // The fields show the walk as the server holds it, but never under a user's hands: a
  // field being typed in keeps what is typed (the presets arriving redraw the list while
  // the drawer is open, and would put N back before it is sent).
  const typing = (el) => el.contains(document.activeElement);
  function refresh() {
    const { walk, start } = store.get();
    const n = walk.batch || 1;
    if (n < 2 && start.batch && !sending) store.set({ start: { ...start, batch: null } }); // an edit made it one example
    if (!typing(size)) size.value = String(n);
    drawList(n > 1 ? current() : batchOf(1));
    $("batch-hint").textContent = n > 1
      ? `The walk averages the gradients of these ${n} examples before each update; the panels show one at a time.`
      : `One example; set N (up to ${meta.max_batch}) to average the gradients of several.`;
    const optimizer = walk.optimizer || { type: "sgd" };
    if (typing(select) || typing($("optimizer-options"))) return;
    select.value = optimizer.type;
    drawOptions(optimizer.type, optimizer);
  }

  // An edit of the shown example (X typed or painted, a preset, a label): in a batch, that
  // example changes and the others stay.
  function withExample(x, y, title = "edited by hand") {
    const { walk, start } = store.get();
    if (!(walk.batch > 1 && start.batch)) return { x, y };
    const batch = start.batch.map((e, i) => (i === (walk.example || 0) ? { x, y, title } : e));
    store.set({ start: { ...start, batch } });
    return examplesBody(batch);
  }

  return { refresh, withExample };
}
