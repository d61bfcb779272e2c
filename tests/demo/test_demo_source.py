"""Finding the line of each key of a TOML lesson (tomllib gives values, not positions)."""

from __future__ import annotations

import tomllib

from app.demo.source import key_lines, line_of

TEXT = '''\
# a comment with key = "value" and [[slide]] in it
title = "T"   # trailing comment
"quoted key" = 1
dotted.key = 2

[example]
x = [
  [1, 2],   # a row
  [3, 4],
]
params = { W1 = [1], b1 = [2] }

[[slide]]
narration = """
not_a_key = "inside a string"
[[slide]]
"""
notes = 'literal with "quotes" and [brackets'

[[slide]]
predict = \'\'\'
x = 1
\'\'\'
step = "Z1"
'''


def test_every_key_and_header_is_found_on_its_line():
    tomllib.loads(TEXT)  # the sample is valid TOML
    lines = key_lines(TEXT)
    assert lines[("title",)] == 2
    assert lines[("quoted key",)] == 3
    assert lines[("dotted", "key")] == 4
    assert lines[("example",)] == 6
    assert lines[("example", "x")] == 7
    assert lines[("example", "params")] == 11
    assert lines[("slide", 0)] == 13
    assert lines[("slide", 0, "narration")] == 14
    assert lines[("slide", 0, "notes")] == 18
    assert lines[("slide", 1)] == 20
    assert lines[("slide", 1, "predict")] == 21
    assert lines[("slide", 1, "step")] == 24


def test_text_inside_strings_and_arrays_is_not_taken_for_keys():
    lines = key_lines(TEXT)
    assert ("slide", 2) not in lines  # the "[[slide]]" inside a multi-line string
    assert ("slide", 0, "not_a_key") not in lines
    assert ("slide", 1, "x") not in lines
    assert not any(path[-1] == "key = " for path in lines)


def test_a_path_not_written_falls_back_to_its_table():
    lines = key_lines(TEXT)
    assert line_of(lines, ("example", "params", "W1")) == 11
    assert line_of(lines, ("slide", 1, "reveal")) == 20
    assert line_of(lines, ("nowhere",)) == 1


def test_a_sub_table_of_an_array_of_tables_belongs_to_its_last_table():
    text = '[[slide]]\nstep = "Z1"\n[[slide]]\nstep = "A1"\n[slide.question]\nkind = "x"\n'
    lines = key_lines(text)
    assert lines[("slide", 1, "question")] == 5 and lines[("slide", 1, "question", "kind")] == 6
    assert ("slide", "question") not in lines
