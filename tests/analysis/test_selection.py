"""``where``: parsed once, checked against the frame, applied the same way everywhere."""

from __future__ import annotations

import pandas as pd
import pytest

from lrlab.analysis.selection import Selection
from lrlab.errors import LrlabError

FRAME = pd.DataFrame({"optimizer": ["sgd", "sgd", "rmsprop"],
                      "learning_rate": [0.1, 0.31622776601683794, 0.001],
                      "seed": [0, 1, 0]})


def test_expressions_parse_once_and_select_as_the_table_shows_numbers() -> None:
    selection = Selection.parse(["optimizer=sgd", "learning_rate>=0.316"])
    assert str(selection) == "optimizer=sgd and learning_rate>=0.316"
    assert Selection.parse(selection) is selection  # a parsed selection passes through
    kept = selection.apply(FRAME)
    assert kept["learning_rate"].tolist() == [0.31622776601683794]
    assert Selection.parse([]).apply(FRAME).equals(FRAME)


def test_a_plan_is_counted_unless_the_selection_needs_results() -> None:
    assert Selection.parse(["optimizer=sgd"]).count(FRAME) == 2
    assert Selection.parse(["status=completed"]).count(FRAME) is None


@pytest.mark.parametrize(("where", "message"), [
    (["nonsense"], "^where='nonsense': expected COLUMN=VALUE"),
    (["colour=red"], "^where=colour=red: unknown column 'colour'; expected one of: optimizer"),
    (["learning_rate=fast"], "learning_rate is numeric; got 'fast'"),
    (["optimizer=adam"], "no trial matches; optimizer takes rmsprop, sgd"),
])
def test_mistakes_name_the_parameter_and_what_exists(where: list[str], message: str) -> None:
    with pytest.raises(LrlabError, match=message) as caught:
        selection = Selection.parse(where)
        selection.check(FRAME, choices=["optimizer", "learning_rate", "seed"])
        selection.apply(FRAME)
    assert caught.value.as_options().startswith("--where ")
