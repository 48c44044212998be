"""What lets ``evaluate.evaluator`` run with transformers 5.

evaluate 0.4.6 (its last release) checks ``isinstance(model_or_pipeline,
transformers.TFPreTrainedModel)`` before using a given pipeline; transformers 5 removed
its TensorFlow classes, so the check itself raises ``AttributeError`` and no evaluator
works. An empty stand-in class restores the name: nothing is an instance of it, so the
check answers what it always did for a PyTorch pipeline, and no prediction changes.
"""

from __future__ import annotations

import sys


def restore_tf_model_name() -> bool:
    """Give an imported transformers 5 an empty ``TFPreTrainedModel``; True when it was added."""
    transformers = sys.modules.get("transformers")
    if transformers is None:
        return False
    try:
        transformers.TFPreTrainedModel  # noqa: B018  (older releases still have it)
        return False
    except AttributeError:
        transformers.TFPreTrainedModel = type("TFPreTrainedModel", (), {})
        return True
