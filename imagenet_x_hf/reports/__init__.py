"""Reports of ImageNet-X results: model-card sections, charts and model comparisons.

Everything here reads a ``Results`` (``imagenet_x_hf.results``) of ``score_predictions``
(or a run's ``results.json``). matplotlib is imported only when a chart is drawn.
"""

from imagenet_x_hf.errors import HubAuthError, ModelCardError, ResultsFileError
from imagenet_x_hf.reports.card import CardUpdate, download_card, push_card, render_card, update_model_card
from imagenet_x_hf.reports.compare import compare_models, format_comparison
from imagenet_x_hf.reports.inputs import ModelResults, load_model_results, read_run, score_file
from imagenet_x_hf.reports.plots import plot_comparison, plot_error_ratios, save_figure
from imagenet_x_hf.reports.section import render_section
from imagenet_x_hf.reports.summary import summarize

__all__ = [
    "CardUpdate",
    "HubAuthError",
    "ModelCardError",
    "ModelResults",
    "ResultsFileError",
    "compare_models",
    "download_card",
    "format_comparison",
    "load_model_results",
    "plot_comparison",
    "plot_error_ratios",
    "push_card",
    "read_run",
    "render_card",
    "render_section",
    "save_figure",
    "score_file",
    "summarize",
    "update_model_card",
]
