"""Browser timing of the explorer page, measured with the Performance API.

    python -m bench.page_bench [--runs 5]

Starts the app on 127.0.0.1, opens the page in Debian's headless Chromium (every request
that is not to the local server is blocked) and reports:

- first render: from navigation start to the first frame painted after every heatmap is
  drawn (median of --runs fresh page loads, browser cache on, as a returning student);
- step: from a → key press until the frame that shows the change has been painted (the
  next animation frame, then a task queued after it), for every step of one whole pass:
  forward, backward and update, pressed one second after the page is ready.

Targets: first render < 1 s, step < 50 ms.
"""

from __future__ import annotations

import argparse
import statistics

from tests.support.localserver import CHROMIUM, CHROMIUM_ARGS, LocalServer

STEP_JS = """async (count) => {
  const times = [];
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
    times.push(performance.now() - t0);
  }
  return times;
}"""
PAINTED_JS = """() => new Promise(
  (r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)))"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with LocalServer() as server, sync_playwright() as p:
        url = server.url
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": args.width, "height": args.height})
        context.route("**/*", lambda route: route.continue_()
                      if route.request.url.startswith(url) else route.abort())
        page = context.new_page()
        first, steps = [], []
        for run in range(args.runs + 1):  # the first load warms the cache
            page.goto(url + "/")
            page.wait_for_selector("body.ready", timeout=20_000)
            painted = page.evaluate(PAINTED_JS)
            if run:
                first.append(painted)
                # a student reads the page before pressing Next; the page uses that idle
                # second to draw the update view ahead
                page.wait_for_timeout(1000)
                steps += page.evaluate(STEP_JS, 21)
        browser.close()
    print(f"page at {args.width}x{args.height}, {args.runs} loads, headless Chromium")
    print("first render (navigation -> all heatmaps painted): "
          f"median {statistics.median(first):.0f} ms, max {max(first):.0f} ms   target < 1000 ms")
    steps.sort()
    p95 = steps[int(0.95 * (len(steps) - 1))]
    print(f"step (key press -> painted): median {statistics.median(steps):.1f} ms, "
          f"p95 {p95:.1f} ms, max {max(steps):.1f} ms over {len(steps)} steps   target < 50 ms")


if __name__ == "__main__":
    main()
