"""A self-contained HTML report of one model: its numbers, and the images it gets wrong.

``build_report`` assembles the page (summary with intervals, the zoo placement when
available, per-metaclass and calibration breakdowns, paired comparisons, and per
factor a gallery of misclassified images with the annotators' notes);
``write_report`` saves it; ``push_report`` uploads it to the Hub as a pull request.
The page needs no network: styles, script, charts and thumbnails are all inline.
"""

from imagenet_x_hf.reports.html.hub import push_report
from imagenet_x_hf.reports.html.report import (
    COMPARE_PER_FACTOR,
    PER_FACTOR,
    Report,
    build_report,
    thumbnail_hint,
    write_report,
)
from imagenet_x_hf.reports.html.zoo import zoo_for, zoo_view

__all__ = [
    "COMPARE_PER_FACTOR",
    "PER_FACTOR",
    "Report",
    "build_report",
    "push_report",
    "thumbnail_hint",
    "write_report",
    "zoo_for",
    "zoo_view",
]
