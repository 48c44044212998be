"""Subcommands of ``imagenet-x``.

Each module here only declares its arguments (cheap imports, so ``--help`` is
fast) and imports the library when the command runs.
"""

from imagenet_x_hf.commands import (
    card,
    compare,
    evaluate,
    export_hub,
    export_predictions,
    findings,
    plot,
    rank,
    report,
    score,
    stats,
    sweep,
)

# In the order a user meets them: evaluate a model, score predictions, report, inspect the data.
COMMANDS = [
    evaluate.register,
    sweep.register,
    sweep.register_leaderboard,
    score.register,
    card.register,
    compare.register,
    rank.register,
    plot.register,
    report.register,
    stats.register,
    export_hub.register,
    export_predictions.register,
    findings.register,
]
