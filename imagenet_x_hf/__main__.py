"""``python -m imagenet_x_hf`` (and ``accelerate launch -m imagenet_x_hf``) runs the CLI."""

from imagenet_x_hf.cli import main

raise SystemExit(main())
