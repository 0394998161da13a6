"""HTML to readable text: one line per block element, no scripts or styles.

    html_to_text("<p>a</p><p>b</p>")  -> "a\\nb"
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, NavigableString, Tag

BLOCK_TAGS = {
    "p", "div", "section", "article", "br", "h1", "h2", "h3", "h4", "h5", "h6",
    "li", "ul", "ol", "blockquote", "pre", "table", "tr", "figure", "figcaption", "hr",
}
_SKIP_TEXT_TAGS = {"script", "style", "noscript", "template"}
_SPACES = re.compile(r"\s+")


def html_to_text(fragment: str) -> str:
    """Readable text of HTML: one line per block element, no scripts or styles."""
    return block_text(BeautifulSoup(fragment or "", "lxml"))


def strip_tags(fragment: str) -> str:
    """One line of text from a snippet with inline markup (e.g. <mark>)."""
    return " ".join(BeautifulSoup(fragment or "", "lxml").get_text(" ").split())


def block_text(element: Tag) -> str:
    """Text of an element, one line per block element, inline runs kept together.

    Iterative (no recursion), so hostile nesting depth cannot overflow the stack.
    """
    chunks: list[str] = []  # one per run of text inside the same block
    current: list[str] = []
    current_block = None
    for node in element.descendants:
        if isinstance(node, Tag) and node.name == "br":
            current.append("\n")
            continue
        if type(node) is not NavigableString:  # tags, comments, CDATA, doctypes
            continue
        block = _enclosing_block(node, element)
        if block is None:
            continue
        if block is not current_block:
            chunks.append("".join(current))
            current, current_block = [], block
        current.append(_SPACES.sub(" ", node))
    chunks.append("".join(current))
    lines = (" ".join(line.split()) for chunk in chunks for line in chunk.split("\n"))
    return "\n".join(line for line in lines if line)


def _enclosing_block(node: NavigableString, root: Tag) -> Tag | None:
    """Nearest block-level ancestor of a text node (root counts as one); None inside script/style."""
    block = None
    for parent in node.parents:
        if parent.name in _SKIP_TEXT_TAGS:
            return None
        if block is None and (parent is root or parent.name in BLOCK_TAGS):
            block = parent
        if parent is root:
            return block
    return block
