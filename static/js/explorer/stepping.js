// Stepping: the page's walk is the server's session. Every move is a request, and the store
// takes only what the answer holds: the step's record and the tensors it reveals, or the
// whole view when the pass changes. Requests go one after another, in the order pressed.

export function createStepping({ store, api, onError }) {
  let chain = Promise.resolve();
  let waiting = 0; // requests queued or in flight

  function enqueue(job) {
    waiting += 1;
    const run = chain.then(job).catch(onError).finally(() => { waiting -= 1; });
    chain = run;
    return run;
  }

  // A view (create, GET, goto, patch, reset) replaces what the page knows of the walk.
  function applyView(view) {
    store.set({ walk: view });
  }

  // A move adds (or, going back, drops) what one step reveals.
  async function applyMove(move) {
    const walk = store.get().walk;
    if (move.epoch !== walk.epoch) {
      applyView(await api.session(walk.id, shown())); // a new pass: new parameters, new everything
      return;
    }
    const known = new Set(move.known);
    const tensors = {};
    const ranges = {};
    for (const [name, value] of Object.entries({ ...walk.tensors, ...move.reveals })) {
      if (!known.has(name)) continue;
      tensors[name] = value;
      ranges[name] = move.ranges[name] || walk.ranges[name];
    }
    // the steps after the cursor lose their numbers again (the walk's own outlines)
    const steps = walk.steps.map((s, i) => (i > move.cursor ? {
      ...s, latex_numbers: null, mathml_numbers: null,
      also: (s.also || []).map((a) => ({ ...a, latex_numbers: null, mathml_numbers: null })),
    } : s));
    if (move.step) steps[move.cursor] = move.step;
    store.set({
      walk: {
        ...walk, cursor: move.cursor, known: move.known, step: move.step, tensors, ranges,
        steps, update: move.update, marks: move.marks || {}, average: move.average,
      },
    });
  }

  const id = () => store.get().walk.id;
  // a mini-batch walk shows one example's tensors; every move asks for the same one
  const shown = () => store.get().walk.example || 0;
  const atStart = (w) => w.epoch === 0 && w.cursor < 0;
  const last = () => store.get().walk.steps.length - 1;

  return {
    applyView,
    next: () => enqueue(async () => {
      const w = store.get().walk;
      if (w.epoch >= store.get().meta.session_max_epochs && w.cursor === last()) return;
      await applyMove(await api.next(id(), shown()));
    }),
    prev: () => enqueue(async () => {
      if (atStart(store.get().walk)) return; // nothing before the start: no request
      await applyMove(await api.prev(id(), shown()));
    }),
    goto: (cursor) => enqueue(async () => {
      const w = store.get().walk;
      if (w.epoch > 0 && cursor < 0) cursor = 0; // a later pass starts at its first step
      applyView(await api.goto(id(), w.epoch, cursor, shown()));
    }),
    restartPass: () => enqueue(async () => {
      const w = store.get().walk;
      applyView(await api.goto(id(), w.epoch, w.epoch > 0 ? 0 : -1, shown()));
    }),
    // Another example of the batch at the same step (the server computed them all).
    showExample: (example) => enqueue(async () => applyView(await api.session(id(), example))),
    reset: () => enqueue(async () => applyView(await api.reset(id()))),
    patch: (body) => enqueue(async () => applyView(await api.patch(id(), body))),
    // Run any other request in turn with the moves (so it sees the walk as pressed).
    run: enqueue,
    settled: () => chain,
    busy: () => waiting > 0,
  };
}
