"""How numbers and factor names are written in cards, tables and reports, so that they all agree.

>>> format_ratio(1.23456), format_percent(0.76125), factor_label("multiple_objects")
('1.23', '76.1%', 'multiple objects')
"""

from __future__ import annotations

from collections.abc import Sequence

from imagenet_x_hf.results import TOLERANCE, FactorResult


def factor_label(factor: str) -> str:
    """The factor as a reader says it: ``partial_view`` -> ``partial view``."""
    return factor.replace("_", " ")


def format_ratio(value: float | None) -> str:
    """
    >>> format_ratio(None)
    'n/a'
    """
    return "n/a" if value is None else f"{value:.2f}"


def _end(value: float) -> str:
    # An end that rounds to 1 but is not 1 gets as many decimals as it takes to differ from 1,
    # so that an interval above 1 never reads "1.00–..." (or "1.000–...").
    for digits in range(2, 8):
        text = f"{value:.{digits}f}"
        if float(text) != 1 or abs(value - 1) <= TOLERANCE:
            return text
    return text


def format_interval(row: FactorResult) -> str:
    """``"1.21–1.40"``, or ``"n/a"`` without an interval; an end near 1 gets a third decimal.

    >>> format_interval(FactorResult("pose", 10, 5, 0.5, 1.3, 1.0036, 1.62))
    '1.004–1.62'
    >>> format_interval(FactorResult("pose", 10, 5, 0.5, 1.3, 1.00031, 1.62)), format_interval(FactorResult("pose", 10, 5, 0.5, 1.0, 1.0, 1.0))
    ('1.0003–1.62', '1.00–1.00')
    """
    if not row.has_interval:
        return "n/a"
    return f"{_end(row.low)}–{_end(row.high)}"


def format_percent(value: float | None) -> str:
    """
    >>> format_percent(None)
    'n/a'
    """
    return "n/a" if value is None else f"{100 * value:.1f}%"


def join_words(words: Sequence[str]) -> str:
    """
    >>> join_words(["a"]), join_words(["a", "b"]), join_words(["a", "b", "c"])
    ('a', 'a and b', 'a, b and c')
    """
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]


def images_text(n: int) -> str:
    """
    >>> images_text(1), images_text(1234)
    ('1 image', '1,234 images')
    """
    return f"{n:,} image" + ("" if n == 1 else "s")
