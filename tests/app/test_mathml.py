"""Every step's formula converts to MathML that renders what the LaTeX says."""

from __future__ import annotations

import re

import numpy as np
import pytest

import engine
from app import mathml

CONFIGS = [engine.Config(), engine.Config(4, 1, 1, 1), engine.Config(28, 7, 8, 4),
           engine.Config(8, 3, 2, 2), engine.Config(5, 2, 3, 4), engine.Config(10, 5, 4, 3),
           engine.Config(28, 1, 8, 1)]


def traces():
    """Random traces over many configurations and magnitudes (tiny to huge numbers)."""
    for config in CONFIGS:
        for seed in range(6):
            rng = np.random.default_rng(seed)
            scale = 10 ** rng.uniform(-6, 3)
            params = {k: v * scale for k, v in engine.init_params(config, seed).items()}
            n = config.input_size
            x = rng.normal(size=(n, n)) * 10 ** rng.uniform(-8, 3)
            lr = float(10 ** rng.uniform(-3, 2))
            yield engine.trace(x, seed % 2, params, config), lr


def formulas():
    for trace, lr in traces():
        for record in engine.step_records(trace, lr):
            yield record["latex"]
            if record["latex_numbers"] is not None:
                yield record["latex_numbers"]


def test_every_formula_converts_to_clean_mathml():
    count = 0
    for latex in formulas():
        out = mathml.to_mathml(latex)
        count += 1
        assert out.startswith("<math") and out.endswith("</math>")
        assert "\\" not in out, latex  # no LaTeX command left unconverted
        assert "merror" not in out
        assert not re.search(r"[{}]", out), latex  # braces are LaTeX grouping, never shown
    assert count > 1000


def test_the_cached_skeletons_reproduce_the_converter_exactly():
    for latex in formulas():
        fast = mathml.via_skeleton(latex)
        assert fast is not None, latex
        assert fast == mathml.convert_block(latex), latex


def static(writes: str) -> str:
    step = next(s for s in engine.STEPS if s.writes == writes)
    return mathml.static_mathml(step.latex)


@pytest.mark.parametrize(("writes", "fragments"), [
    ("dA1", ['<mo stretchy="true" fence="true" form="prefix">&#x0007B;</mo><mtable>',  # cases
             "<mtext>if&#x000A0;</mtext>", "<mtext>otherwise</mtext>"]),  # \text
    ("dZ1", ["<mo>&#x02299;</mo>",  # \odot
             '<mspace width="1em" />',  # \quad
             "<mo>&#x02264;</mo>"]),  # \le
    ("W1", ["<mo>&#x02190;</mo>",  # \leftarrow
            "<mi>&#x003B7;</mi>"]),  # \eta
    ("Z1", ['<mi mathvariant="normal">C</mi><mi mathvariant="normal">o</mi>']),  # \mathrm
    ("dP1", ['<mo stretchy="true" fence="true" form="prefix">&#x00028;</mo>']),  # \left(
    ("db1", ["<munder><mo>&#x02211;</mo><mrow><mi>i</mi><mo>&#x0002C;</mo><mi>j</mi>"
             "</mrow></munder>"]),  # \sum_{i,j}
    ("dW2", ["<mfrac><mrow><mo>&#x02202;</mo><mi>L</mi></mrow>",  # \frac, \partial
             "<mo>&#x000D7;</mo>"]),  # \times
    # (W_2)^T as a superscript on the whole W_2: a subscript-superscript pair draws the T
    # over the 2 in Chromium
    ("Z2", ["<msup><mrow><msub><mi>W</mi><mn>2</mn></msub></mrow><mrow><mi>T</mi></mrow></msup>"]),
])
def test_the_notation_survives_conversion(writes, fragments):
    out = static(writes)
    for fragment in fragments:
        assert fragment in out, (writes, fragment, out)


def test_numbers_brackets_and_powers_of_ten():
    out = mathml.to_mathml(r"F = \left[0.5,\ -1.5 \times 10^{-7}\right]")
    assert '<mo stretchy="true" fence="true" form="prefix">[</mo>' in out
    assert "<mn>0.5</mn>" in out and "<mo>&#x02212;</mo><mn>1.5</mn>" in out
    assert "<msup><mn>10</mn><mrow><mo>&#x02212;</mo><mn>7</mn></mrow></msup>" in out
    z1 = mathml.to_mathml(r"\sum_{a,b} X[a,b]\,W_1[a,b]")
    assert "<munder><mo>&#x02211;</mo><mrow><mi>a</mi><mo>&#x0002C;</mo><mi>b</mi>" in z1


def test_unusual_formulas_fall_back_to_direct_conversion():
    for latex in [r"x^{2}_{3} + 9001.77777", r"a_{12} = 3", "1 2 3 4"]:
        assert mathml.to_mathml(latex) == mathml.convert_block(latex)
