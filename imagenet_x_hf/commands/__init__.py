"""Subcommands of ``imagenet-x``.

Each module here only declares its arguments (cheap imports, so ``--help`` is
fast) and imports the library when the command runs.
"""

from imagenet_x_hf.commands import card, compare, evaluate, export_hub, plot, score, stats

COMMANDS = [
    export_hub.register,
    stats.register,
    card.register,
    compare.register,
    plot.register,
    evaluate.register,
    score.register,
]
