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


def _mapped_modules() -> set[str]:
    """The modules the map in docs/development.md names, as dotted paths (its tree's
    indentation says which folder each line is in)."""
    text = (ROOT / "docs" / "development.md").read_text()
    tree = text[text.index("```text\nlrlab/"):]
    tree = tree[:tree.index("\n```")]
    folders: list[tuple[int, str]] = []
    named = set()
    for line in tree.splitlines()[2:]:  # below "```text" and "lrlab/"
        found = re.match(r"^( *)(\w+/|\w+\.py)(?:\s|$)", line)
        if not found:
            continue  # a description's continuation
        indent, name = len(found[1]), found[2]
        folders = [(i, f) for i, f in folders if i < indent]
        if name.endswith("/"):
            folders.append((indent, name[:-1]))
        else:
            named.add(".".join(["lrlab", *(f for _, f in folders), name[:-3]]))
    return named


def test_the_map_names_every_module() -> None:
    package = ROOT / "lrlab"
    modules = {".".join(p.relative_to(ROOT).with_suffix("").parts)
               for p in package.rglob("*.py") if p.name != "__init__.py" or p.parent == package}
    mapped = _mapped_modules()
    assert sorted(modules - mapped) == [], "modules missing from docs/development.md's map"
    assert sorted(mapped - modules) == [], "the map names modules that do not exist"


def test_every_module_has_tests_mirrored_or_named() -> None:
    """tests/<part>/test_<module>.py, or a row of docs/development.md's table."""
    text = (ROOT / "docs" / "development.md").read_text()
    table = text[text.index("<!-- tests-elsewhere -->"):text.index("<!-- /tests-elsewhere -->")]
    elsewhere = dict(re.findall(r"^\| `([\w/]+\.py)` \| `(tests/[\w/]+\.py)` \|$", table, re.M))
    assert all((ROOT / tests).is_file() for tests in elsewhere.values()), elsewhere
    package = ROOT / "lrlab"
    missing = []
    for path in sorted(package.rglob("*.py")):
        module = path.relative_to(package)
        if path.name in ("__init__.py", "__main__.py") or str(module) in elsewhere:
            continue
        part = module.parts[0] if len(module.parts) > 1 else ""
        mirror = ROOT / "tests" / part / f"test_{path.stem.lstrip('_')}.py"
        if not mirror.is_file():
            missing.append(str(module))
    assert missing == []
