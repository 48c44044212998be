"""Text-level edits of a card's YAML block that keep every byte they do not own.

Re-serialising YAML loses comments, quoting, flow style and key order, so the card
is edited as text: the ``model-index`` entry as a whole, or, better, only our items
of its ``results:`` list. Each edit reads its own boundaries from indentation, and
the caller parses the result and compares it with the data it meant to write; an
edit that does not check out is discarded for a plain re-serialisation.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from huggingface_hub.utils import yaml_dump

_RESULTS_LINE = re.compile(r"^([ \t]*)(?:-[ \t]+)?results:[ \t]*(#.*)?$")


def key_pattern(key: str) -> re.Pattern:
    return re.compile(rf"^[\"']?{re.escape(key)}[\"']?[ \t]*:", re.MULTILINE)


def _is_top_level(line: str) -> bool:
    # Top-level keys start in column 0; an indentless list ("- item") and comments do not end a value.
    return bool(line) and not line[0].isspace() and not line.startswith(("-", "#"))


def key_span(block: str, key: str) -> tuple[int, int] | None | bool:
    """(start, end) of the top-level ``key`` entry; None when absent, False when it occurs twice.

    The entry runs to the next top-level key; blank lines and column-0 comments just
    before that key are layout and stay outside.
    """
    starts = list(key_pattern(key).finditer(block))
    if len(starts) > 1:
        return False
    if not starts:
        return None
    start = starts[0].start()
    lines = block[start:].splitlines(keepends=True)
    end = value_end = start + len(lines[0])
    for line in lines[1:]:
        if _is_top_level(line):
            break
        end += len(line)
        if line.strip() and not line.startswith("#"):
            value_end = end
    return start, value_end


def replace_key(block: str, key: str, dumped: str) -> str | None:
    """``block`` with the entry of ``key`` replaced by ``dumped`` (or appended); None if ambiguous."""
    span = key_span(block, key)
    if span is False:
        return None
    if span is None:
        if not block.strip():
            return dumped.rstrip("\r\n")
        separator = "" if block.endswith("\n") else ("\r\n" if dumped.endswith("\r\n") else "\n")
        return block + separator + dumped.rstrip("\r\n")
    start, end = span
    replacement = dumped if block[start:end].endswith("\n") else dumped.rstrip("\r\n")
    return block[:start] + replacement + block[end:]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _list_items(lines: list[str], first: int) -> tuple[str, list[tuple[int, int]], int] | None:
    """The block-style list starting after line ``first - 1``: (item indent, item line spans, end line).

    None when the list is not in block style (flow style, or no "- " item).
    """
    i = first
    while i < len(lines) and (not lines[i].strip() or lines[i].lstrip().startswith("#")):
        i += 1
    if i == len(lines) or not lines[i].lstrip(" \t").startswith("- "):
        return None
    indent = lines[i][: _indent(lines[i])]
    items: list[tuple[int, int]] = []
    last_content = i
    j = i
    while j < len(lines):
        line = lines[j]
        if line.strip() and not line.lstrip().startswith("#"):
            level = _indent(line)
            if level < len(indent) or (level == len(indent) and not line[level:].startswith("- ")):
                break
            if level == len(indent):
                if items:
                    items[-1] = (items[-1][0], last_content + 1)
                items.append((j, j + 1))
            last_content = j
        j += 1
    items[-1] = (items[-1][0], last_content + 1)
    return indent, items, last_content + 1


def replace_list_items(
    entry: str,
    *,
    is_ours: Callable[[int], bool | None],
    new_items: list,
    line_break: str,
) -> str | None:
    """In the text of one YAML entry, drop the ``results:`` items ``is_ours`` flags and append ``new_items``.

    ``is_ours(i)`` says whether item ``i`` (in document order) is ours; None means the
    item mixes ours and others' and cannot be edited alone. Returns None when the
    layout is not one this edit understands (several ``results:`` lists, flow style).
    """
    lines = entry.splitlines(keepends=True)
    found = [n for n, line in enumerate(lines) if _RESULTS_LINE.match(line.rstrip("\r\n"))]
    if len(found) != 1:
        return None
    parsed = _list_items(lines, found[0] + 1)
    if parsed is None:
        return None
    indent, items, end = parsed
    keep: list[str] = []
    cursor = found[0] + 1
    for n, (a, b) in enumerate(items):
        ours = is_ours(n)
        if ours is None:
            return None
        keep.extend(lines[cursor:a])
        if not ours:
            keep.extend(lines[a:b])
        cursor = b
    before = "".join(lines[: found[0] + 1]) + "".join(keep)
    after = "".join(lines[end:])
    if new_items:
        dumped = yaml_dump(new_items, sort_keys=False)
        text = "".join(indent + line + "\n" for line in dumped.splitlines())
        if line_break != "\n":
            text = text.replace("\n", line_break)
        if before and not before.endswith("\n"):
            before += line_break
        if not after and not entry.endswith("\n"):
            text = text.rstrip("\r\n")
        before += text
    return before + after
