"""The front door and the documentation stay true: the README is short, its outputs are
the regenerated ones, and every full config a page shows is one lrlab accepts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lrlab.experiment.config import parse_config

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for heading in ("## Quick start", "## The commands", "## What it does not do yet"):
        assert heading in readme
    # The data step is inside the Quick start's code block, before the first sweep.
    quick = readme.split("## Quick start")[1].split("```bash")[1].split("```")[0]
    assert quick.index("LRLAB_DATA_DIR") < quick.index("lrlab sweep")
    assert 'python -m pytest -m "not slow"' in quick


def test_the_readme_shows_the_regenerated_outputs() -> None:
    """scripts/doc_outputs.py writes docs/outputs/ and fills the README's blocks from
    them: a hand edit of either would show here."""
    readme = (ROOT / "README.md").read_text()
    blocks = re.findall(r"<!-- output: (\S+) -->\n```text\n(.*?)\n```\n<!-- /output -->",
                        readme, flags=re.DOTALL)
    assert blocks
    for name, text in blocks:
        assert text == (ROOT / "docs" / "outputs" / name).read_text().rstrip("\n")


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_whole_config_shown_is_accepted(document: Path) -> None:
    for block in re.findall(r"```yaml\n(.*?)```", document.read_text(), flags=re.DOTALL):
        if re.search(r"^sweep:", block, flags=re.MULTILINE):
            parse_config(block, source=str(document))
