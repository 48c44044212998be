"""What lets ``evaluate.evaluator`` run with transformers 5.

evaluate 0.4.6 (its last release) checks ``isinstance(model_or_pipeline,
transformers.TFPreTrainedModel)`` before using a given pipeline; transformers 5 removed
its TensorFlow classes, so the check itself raises ``AttributeError`` and no evaluator
works. An empty stand-in class restores the name: nothing is an instance of it, so the
check answers what it always did for a PyTorch pipeline, and no prediction changes.
"""

from __future__ import annotations

import sys
import types


def restore_tf_model_name() -> bool:
    """Give an imported transformers 5 an empty ``TFPreTrainedModel``; True when it was added."""
    transformers = sys.modules.get("transformers")
    if transformers is None:
        return False
    try:
        transformers.TFPreTrainedModel  # noqa: B018  (older releases still have it)
        return False
    except AttributeError:
        stand_in = type("TFPreTrainedModel", (), {})
        transformers.TFPreTrainedModel = stand_in
        if type(transformers) is not types.ModuleType:
            # transformers' lazy module object is replaced while it loads its submodules
            # (importing evaluate does), so the name goes on its class as well.
            type(transformers).TFPreTrainedModel = stand_in
        return True


class _PatchAfterImport:
    """A meta-path finder that restores the name right after ``transformers`` is imported.

    ``evaluate.evaluator`` checks the name before it loads a metric given as a path, so
    loading our metric module is too late when the metric is given as ``METRIC_PATH``;
    this runs as soon as anything imports transformers, without importing it ourselves.
    """

    def find_spec(self, name, path=None, target=None):
        if name != "transformers":
            return None
        import importlib.machinery

        sys.meta_path.remove(self)  # find the real spec with the other finders
        try:
            spec = importlib.machinery.PathFinder.find_spec(name, path)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_restore(module):
            exec_module(module)
            restore_tf_model_name()

        loader.exec_module = exec_and_restore
        return spec


def restore_tf_model_name_when_imported() -> None:
    """Restore the name now if transformers is imported, else as soon as it is (see ``_PatchAfterImport``)."""
    if "transformers" in sys.modules:
        restore_tf_model_name()
    elif not any(isinstance(f, _PatchAfterImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchAfterImport())
