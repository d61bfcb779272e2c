"""Browser timing of the explorer page, measured with the Performance API.

    python -m bench.page_bench [--runs 5] [--width 1280 --height 720]

Starts the app on 127.0.0.1, opens the page in Debian's headless Chromium and reports the
figures below. Every request that is not to the local server fails: Chromium is told to
send it through a proxy at a closed port (loopback goes direct), so no request is held up
on its way, as Playwright's routing would hold every one of them (that added about 3 ms to
each step and 100 ms to the first render); the benchmark stops if the page asked for any.

- first render: from navigation start to the first frame painted after every panel is
  drawn (median of --runs fresh page loads, browser cache on, as a returning student);
- step: from a → key press (at a random moment, not in step with the frames) until the
  frame that shows the step has been painted: the page
  asks the server for the step (POST /api/sessions/{id}/next), draws the answer, and the
  next animation frame and a task queued after it have run. Every step of one whole pass
  and into the next (22 presses: forward, backward, update, and the next pass's Z1);
- hover: from the pointer entering a cell until its sources are lit and painted, the first
  hover of each cell, over every cell of Z1, P1, dA1 and dW1 with the walk at dW1. Twice:
  after a second of reading (the page has fetched each revealed tensor's provenance while
  idle, so a hover is drawn from memory), and with those whole-tensor requests refused
  by the benchmark, so every hover asks the server for its cell.

Targets: first render <= 500 ms median; step median <= 16 ms and p95 <= 33 ms; hover
median <= 16 ms.
"""

from __future__ import annotations

import argparse
import statistics

from tests.support.localserver import CHROMIUM, CHROMIUM_ARGS, LocalServer

# Resolves once the element has changed and the frame showing it has been painted. Each
# measurement starts after a random pause of 20-37 ms: a person's key press or pointer is
# not in step with the screen's frames, while one started right after the previous frame
# was painted would always wait a whole frame (16.7 ms) for the next.
PAINTED_AFTER = """
const pause = () => new Promise((r) => setTimeout(r, 20 + Math.random() * 17));
const paintedAfterChange = async (el, act) => { await pause(); return new Promise((resolve) => {
  const t0 = performance.now();
  const seen = new MutationObserver(() => {
    seen.disconnect();
    requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0), 0));
  });
  seen.observe(el, { childList: true, characterData: true, subtree: true });
  act();
}); };
"""
STEP_JS = PAINTED_AFTER + """
return (async (count) => {
  const times = [];
  const progress = document.getElementById("progress");
  for (let i = 0; i < count; i += 1) {
    times.push(await paintedAfterChange(progress, () => document.dispatchEvent(
      new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }))));
  }
  return times;
})(arguments[0]);
"""
HOVER_JS = PAINTED_AFTER + """
return (async (names) => {
  const times = [];
  const detail = document.getElementById("explain-detail");
  for (const name of names) {
    for (const cell of document.querySelectorAll(`.panel[data-tensor="${name}"] .cell`)) {
      times.push(await paintedAfterChange(detail, () => cell.dispatchEvent(
        new MouseEvent("mouseover", { bubbles: true }))));
    }
  }
  return times;
})(arguments[0]);
"""
NOWHERE = "http://127.0.0.1:9"  # the discard port, closed: every remote request fails here
PAINTED_JS = """() => new Promise(
  (r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)))"""


def run_js(page, body: str, arg: object) -> list[float]:
    return page.evaluate(f"(arg) => (function() {{ {body} }}).call(null, arg)", arg)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[int(q * (len(ordered) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with LocalServer() as server, sync_playwright() as p:
        url = server.url
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=[*CHROMIUM_ARGS, f"--proxy-server={NOWHERE}"])
        context = browser.new_context(viewport={"width": args.width, "height": args.height})
        remote: list[str] = []  # watched, not intercepted
        context.on("request", lambda r: None if r.url.startswith(url) else remote.append(r.url))
        page = context.new_page()
        first, steps, hovers, asked = [], [], [], []
        for run in range(args.runs + 1):  # the first load warms the cache
            page.goto(url + "/")
            page.wait_for_selector("body.ready", timeout=20_000)
            painted = page.evaluate(PAINTED_JS)
            if not run:
                continue
            first.append(painted)
            page.wait_for_timeout(300)
            steps += run_js(page, STEP_JS, 22)
            for prefetch, times in ((True, hovers), (False, asked)):
                if not prefetch:  # refuse the whole-tensor answers: every hover asks
                    page.route("**/provenance/*/cells", lambda route: route.abort())
                # the walk at dW1: every tensor above has sources
                page.goto(url + "/#step=15")
                page.wait_for_selector("body.ready", timeout=20_000)
                page.wait_for_timeout(1000)
                times += run_js(page, HOVER_JS, ["Z1", "P1", "dA1", "dW1"])
                page.unroute("**/provenance/*/cells")
        browser.close()
    if remote:
        raise SystemExit(f"the page asked for remote addresses (refused): {remote[:5]}")
    print(f"page at {args.width}x{args.height}, {args.runs} loads, headless Chromium")
    print("first render (navigation -> every panel painted): "
          f"median {statistics.median(first):.0f} ms, max {max(first):.0f} ms"
          "   target median <= 500 ms")
    print(f"step (key press -> server -> painted): median {statistics.median(steps):.1f} ms, "
          f"p95 {pct(steps, 0.95):.1f} ms, max {max(steps):.1f} ms over {len(steps)} steps"
          "   target median <= 16 ms, p95 <= 33 ms")
    for label, times in (("prefetched", hovers), ("asked per cell", asked)):
        print(f"hover, {label} (pointer -> painted): median {statistics.median(times):.1f} ms, "
              f"p95 {pct(times, 0.95):.1f} ms over {len(times)} cells   target median <= 16 ms")


if __name__ == "__main__":
    main()
