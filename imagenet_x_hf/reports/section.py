"""The "Robustness on ImageNet-X" section of a model card: rendering and splicing.

The section is rendered from a Jinja template (``templates/robustness_section.md.j2``,
or the user's own) and framed by two HTML comments, invisible on the Hub, so a
later run finds and replaces exactly its own text and nothing else.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from imagenet_x_hf.errors import ModelCardError
from imagenet_x_hf.reports.format import format_interval, format_percent, format_ratio
from imagenet_x_hf.reports.summary import summarize
from imagenet_x_hf.reports.zoo_sentence import zoo_explanation
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTOR_DEFINITIONS

START = "<!-- imagenet-x:robustness:start (written by imagenet-x card; edits inside are replaced) -->"
END = "<!-- imagenet-x:robustness:end -->"
# Markers are found by these prefixes, so a change of the wording above still finds old sections.
_START_PREFIX = "<!-- imagenet-x:robustness:start"
_END_PREFIX = "<!-- imagenet-x:robustness:end"

TEMPLATE = Path(__file__).resolve().parent / "templates" / "robustness_section.md.j2"
PAPER_URL = "https://arxiv.org/abs/2211.01866"
PROJECT_URL = "https://pypi.org/project/imagenet-x-hf/"
INTERVAL_REFERENCE = (
    "Koopman, P. A. R. (1984). Confidence intervals for the ratio of two binomial proportions. "
    "*Biometrics* 40(2), 513–517"
)

_WHICH_FACTOR_TEXT = {
    "top": "each image counts under its single most salient factor (the paper's top-factor annotation)",
    "multi": "each image counts under every factor marked for it (multi-factor annotation)",
}
_ERROR_TEXT = {
    "class": "a prediction counts as correct when it is the labelled class (top-1)",
    "metaclass": "a prediction counts as correct when its class is in the labelled class's metaclass",
}
_METHOD_TEXT = {
    "koopman-score-risk-ratio": (
        "a score interval for the ratio of two proportions (Koopman, 1984), computed from the error "
        "counts on the factor's images and on the other images"
    ),
}


def method_text(method: str | None) -> str:
    """An interval method's identifier said in words (the identifier itself when unknown).

    >>> method_text("koopman-score-risk-ratio")[:43]
    'a score interval for the ratio of two propo'
    """
    return _METHOD_TEXT.get(method or "", method or "method not recorded")


def settings_text(results: Results) -> dict[str, str]:
    """The scoring settings of ``results``, each said in words."""
    settings = results.scoring
    coverage = results.coverage or {}
    split = settings.split
    if settings.error_type == "real_class":
        error = (
            "a prediction counts as correct when it is among the image's ImageNet-ReaL labels (ReaL "
            "accuracy); images without ReaL labels are "
            + ("left out" if settings.empty_real == "exclude" else "counted as errors")
        )
    else:
        error = _ERROR_TEXT[settings.error_type]
    method = str(results.interval_method or "")
    out = {
        "which_factor": _WHICH_FACTOR_TEXT[settings.which_factor],
        "error_type": error,
        "prototypes": (
            "the validation images shown to annotators as examples (prototypes) are left out"
            if settings.filter_prototypes
            else "the validation images shown to annotators as examples (prototypes) are included"
        ),
        "split": f"ImageNet {split} images",
        "level": f"{100 * settings.confidence_level:g}%",
        "interval_method": method or "unspecified",
        "interval_words": _METHOD_TEXT.get(
            method, f"the method {method!r}" if method else "an unstated method"
        ),
        "interval_reference": INTERVAL_REFERENCE,
    }
    if coverage.get("annotated") is not None and coverage.get("used") is not None:
        missing = coverage.get("missing") or 0
        no_real = coverage.get("real_empty_excluded") or 0
        why = [f"{missing:,} had no prediction"] if missing else []
        why += [f"{no_real:,} have no ReaL labels"] if no_real else []
        out["coverage"] = (
            f"{coverage['used']:,} of the {coverage['annotated']:,} annotated {split} images were scored"
            + (f" ({'; '.join(why)})" if why else "")
        )
    else:
        out["coverage"] = f"{results.images:,} annotated {split} images were scored"
    return out


def _environment(template_dir: Path):
    from jinja2 import FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    # Sandboxed: a template passed with --template may come from anywhere.
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(template_dir)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters.update(
        ratio=format_ratio, percent=format_percent, interval=format_interval, md=markdown_escape
    )
    return env


def markdown_escape(text: Any) -> str:
    """Escape what would break a Markdown table cell or start formatting.

    >>> markdown_escape("a|b_c*")
    'a\\\\|b\\\\_c\\\\*'
    """
    out = str(text)
    for ch in ("\\", "|", "*", "_", "`", "[", "]", "<", ">"):
        out = out.replace(ch, "\\" + ch)
    return out


def render_section(
    results: Results,
    *,
    model: str,
    image: str | None = None,
    reproduce: Sequence[str] = (),
    template: str | os.PathLike | None = None,
    replaced_other_settings: int = 0,
    other_settings_kept: bool = False,
) -> str:
    """The section, markers included, without a trailing newline.

    ``image`` is the chart's path relative to the card; ``reproduce`` the commands
    that recreate the numbers (the install line first). The template receives
    ``model``, ``results`` (``Results.to_dict()``), ``summary`` (``summarize(results)``: ``.lead`` and
    ``.details`` sentences, factor groups ``.more``, ``.less``, ``.average``,
    ``.unclear``; the lead already compares the model with released models of its
    accuracy), ``zoo`` (what that comparison rests on and its interval in plain words, or
    none), ``rows`` (one ``FactorResult`` per factor, in the paper's order),
    ``definitions``, ``settings`` (each setting in words), ``accuracy_name``,
    ``image``, ``reproduce``, ``paper_url``, ``project_url``, ``replaced_other_settings``
    (how many earlier results with other settings this run replaced) and
    ``other_settings_kept``, and the filters ``ratio``, ``percent``, ``interval`` and ``md``.
    """
    from jinja2 import TemplateError

    path = Path(template) if template is not None else TEMPLATE
    if not path.is_file():
        raise ModelCardError(
            f"template {str(path)!r} does not exist; pass an existing .j2 file to --template"
        )
    env = _environment(path.parent)
    try:
        summary = summarize(results)
        body = env.get_template(path.name).render(
            model=model,
            results=results.to_dict(),
            summary=summary,
            zoo=zoo_explanation(results.zoo),
            accuracy_name=summary.accuracy_name,
            replaced_other_settings=replaced_other_settings,
            other_settings_kept=other_settings_kept,
            rows=results.factors,
            definitions=FACTOR_DEFINITIONS,
            settings=settings_text(results),
            image=image,
            reproduce=list(reproduce),
            paper_url=PAPER_URL,
            project_url=PROJECT_URL,
        )
    except TemplateError as err:
        line = getattr(err, "lineno", None)
        where = f" (line {line})" if line else ""
        raise ModelCardError(
            f"the template {str(path)!r} failed to render{where}: {err}; fix the template "
            "(the variables it may use are listed in imagenet_x_hf.reports.section.render_section)"
        ) from err
    if _START_PREFIX in body or _END_PREFIX in body:
        raise ModelCardError(
            f"the template {str(path)!r} writes the section markers itself; remove them from the template"
        )
    return f"{START}\n{body.strip()}\n{END}"


def find_section(body: str, *, source: str) -> tuple[int, int] | None:
    """The (start, end) offsets of our section in ``body``, or None; errors on damaged markers."""
    starts, ends = body.count(_START_PREFIX), body.count(_END_PREFIX)
    if starts == 0 and ends == 0:
        return None
    i = body.find(_START_PREFIX)
    j = body.find(_END_PREFIX)
    if starts != 1 or ends != 1 or j < i:
        raise ModelCardError(
            f"{source} has {starts} start and {ends} end marker(s) of the ImageNet-X section "
            f"('{_START_PREFIX} ...' and '{_END_PREFIX} -->'), expected one of each, start first; "
            "delete the damaged section by hand, keeping the rest, and rerun; the card was not changed"
        )
    close = body.find("-->", j)
    if close < 0:
        raise ModelCardError(
            f"the end marker of the ImageNet-X section in {source} is not closed with '-->'; "
            "fix or delete it and rerun; the card was not changed"
        )
    return i, close + len("-->")


def splice_section(body: str, section: str, *, source: str = "the card") -> str:
    """``body`` with ``section`` replacing our earlier section, or appended at the end.

    Every byte outside the section is kept; the section takes the body's line endings.

    >>> first = splice_section("# Model\\n\\nText.\\n", "<!-- imagenet-x:robustness:start -->\\nv1\\n<!-- imagenet-x:robustness:end -->")
    >>> print(first, end="")
    # Model
    <BLANKLINE>
    Text.
    <BLANKLINE>
    <!-- imagenet-x:robustness:start -->
    v1
    <!-- imagenet-x:robustness:end -->
    >>> second = splice_section(first + "More.\\n", first[first.index("<!--"):].strip().replace("v1", "v2"))
    >>> second.count("v2"), second.count("v1"), second.endswith("-->\\nMore.\\n")
    (1, 0, True)
    """
    if "\r\n" in body:
        section = section.replace("\r\n", "\n").replace("\n", "\r\n")
    newline = "\r\n" if "\r\n" in body else "\n"
    span = find_section(body, source=source)
    if span is not None:
        return body[: span[0]] + section + body[span[1] :]
    if not body:
        return section + newline
    separator = newline if body.endswith("\n") else newline * 2
    return body + separator + section + newline
