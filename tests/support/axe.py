"""axe-core in the browser tests: the copy PyPI's ``axe-playwright-python`` ships, injected
into the page by the tests (the product never serves it), run against WCAG 2.1 A and AA."""

from __future__ import annotations

from pathlib import Path

import axe_playwright_python

SCRIPT = Path(axe_playwright_python.__file__).parent / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def violations(page, selector: str | None = None) -> list[str]:
    """axe-core's WCAG 2.1 A + AA violations on ``page`` (within ``selector`` when given),
    one line each: the rule, its impact and the first nodes it names."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # evaluated through the browser's debugging protocol: the page's Content Security
        # Policy (script-src 'self') stays as the product sets it
        page.evaluate(SCRIPT.read_text(encoding="utf-8") + "\n;undefined")
    found = page.evaluate(
        """async ([selector, tags]) => {
            const context = selector ? document.querySelector(selector) : document;
            const result = await axe.run(context, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => `${v.id} (${v.impact}): ` +
                v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
        }""", [selector, TAGS])
    return list(found)
