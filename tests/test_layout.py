"""The README's Layout is the tree: every package it names exists, and every package is named there."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def layout_block() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```", 2)[1]


def named_folders() -> set[str]:
    """kb/ sub-folders the Layout names ("  sources/" under "kb/" is kb/sources)."""
    named = set()
    for line in layout_block().splitlines():
        match = re.match(r"^  (\S+)/\s", line)
        if match:
            named.add("kb/" + match.group(1))
    return named


def packages() -> set[str]:
    """Every folder under kb/ that holds Python modules."""
    return {str(p.parent.relative_to(ROOT)) for p in (ROOT / "kb").rglob("*.py")
            if "__pycache__" not in p.parts and p.parent != ROOT / "kb"}


def test_every_named_folder_exists():
    missing = sorted(f for f in named_folders() if not (ROOT / f).is_dir())
    assert not missing, f"README Layout names folders that do not exist: {missing}"


def test_every_package_is_named():
    unnamed = sorted(packages() - named_folders())
    assert not unnamed, f"packages missing from the README Layout: {unnamed}"


def test_every_package_says_what_it_holds():
    silent = sorted(p for p in packages() if not (ROOT / p / "__init__.py").is_file()
                    or not (ROOT / p / "__init__.py").read_text(encoding="utf-8").lstrip().startswith('"""'))
    assert not silent, f"packages without a docstring in __init__.py: {silent}"


def test_top_level_folders_are_named():
    top = {line.split()[0] for line in layout_block().splitlines() if line and not line.startswith(" ")}
    for folder in top:
        assert (ROOT / folder).is_dir(), folder
