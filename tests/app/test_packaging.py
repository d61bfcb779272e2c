"""What the wheel carries is written out in pyproject.toml (no package is guessed), so a new
package in the tree must be named there: the slow wheel test finds a missing one only when the
installed app fails to start, this finds it at once and names it."""

from __future__ import annotations

import tomllib

from tests.support.localserver import ROOT


def test_every_package_in_the_tree_travels_in_the_wheel():
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts)
             for top in ("engine", "app") for init in (ROOT / top).rglob("__init__.py")}
    assert found, "no package found under engine/ or app/"
    assert found <= listed, f"not in pyproject.toml's packages: {sorted(found - listed)}"
