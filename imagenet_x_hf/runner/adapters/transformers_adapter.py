"""transformers image classifiers (``AutoModelForImageClassification``) with their own image processor."""

from __future__ import annotations

from typing import Any

import torch

from imagenet_x_hf.runner.adapters.base import LoadedModel, LoadOptions, LoadReport, LogitsModule, ModelSpec
from imagenet_x_hf.runner.adapters.source import ModelLoadError, ModelSource
from imagenet_x_hf.runner.labels import resolve_label_space
from imagenet_x_hf.runner.preprocess import PIL_CODE_TO_NAME, Preprocessing


def _size(value: Any) -> dict[str, int]:
    if value is None:
        return {}
    if isinstance(value, int):
        return {"shortest_edge": value}
    items = value.items() if isinstance(value, dict) else vars(value).items()
    return {k: v for k, v in items if v is not None}


def _interpolation(resample: Any) -> str | None:
    if resample is None:
        return "bilinear"
    if isinstance(resample, int):
        return PIL_CODE_TO_NAME.get(int(resample))
    value = getattr(resample, "value", None)  # torchvision InterpolationMode
    return value if value in PIL_CODE_TO_NAME.values() else None


def _triple(value: Any, default: float) -> tuple[float, float, float]:
    if value is None:
        value = default
    if isinstance(value, (int, float)):
        return (float(value),) * 3
    values = tuple(float(v) for v in value)
    return values if len(values) == 3 else (values[0],) * 3


def preprocessing_from_processor(processor: Any, *, jpeg_draft: bool = False) -> Preprocessing | None:
    """Read an image processor's eval transform into a ``Preprocessing``; ``None`` if it has other steps.

    Only the generic resize -> center crop -> rescale -> normalise chain (plus ConvNeXt's
    ``crop_pct`` resize) is read; the runner checks the result against the processor
    itself on probe images before using it.

    >>> from transformers import ConvNextImageProcessor
    >>> p = preprocessing_from_processor(ConvNextImageProcessor(size={"shortest_edge": 224}))
    >>> p.resize, p.crop, p.interpolation, p.kernel
    (256, (224, 224), 'bicubic', 'torchvision')
    """
    get = lambda name: getattr(processor, name, None)  # noqa: E731
    interpolation = _interpolation(get("resample"))
    if interpolation is None or get("do_pad") or get("do_flip_channel_order"):
        return None
    resize: int | tuple[int, int] | None = None
    crop: tuple[int, int] | None = None
    if get("do_resize"):
        size = _size(get("size"))
        shortest = size.get("shortest_edge")
        if type(processor).__name__.startswith("ConvNext") and shortest:
            crop_pct = get("crop_pct") or 224 / 256
            if shortest < 384:
                resize, crop = int(shortest / crop_pct), (shortest, shortest)
            else:
                resize = (shortest, shortest)
        elif shortest and set(size) == {"shortest_edge"}:
            resize = int(shortest)
        elif set(size) == {"height", "width"}:
            resize = (int(size["height"]), int(size["width"]))
        else:
            return None
    if get("do_center_crop"):
        crop_size = _size(get("crop_size"))
        if crop is not None or set(crop_size) != {"height", "width"}:
            return None
        crop = (int(crop_size["height"]), int(crop_size["width"]))
    normalise = bool(get("do_normalize"))
    return Preprocessing(
        resize=resize,
        crop=crop,
        interpolation=interpolation,
        kernel="torchvision" if getattr(processor, "backend", "pil") == "torchvision" else "pil",
        mean=_triple(get("image_mean") if normalise else 0.0, 0.0),
        std=_triple(get("image_std") if normalise else 1.0, 1.0),
        scale=float(get("rescale_factor") or 1 / 255) if get("do_rescale") else 1.0,
        crop_rounding="floor",
        jpeg_draft=jpeg_draft,
    )


def _remote_code_error(source: ModelSource, err: Exception) -> ModelLoadError:
    return ModelLoadError(
        f"{source.ref} needs its own Python code from the Hub ({err}). Running it is off by default; "
        "pass --trust-remote-code if you trust this repository."
    )


def load_processor(source: ModelSource, options: LoadOptions, *, cls: Any = None):
    from transformers import AutoImageProcessor

    cls = cls or AutoImageProcessor
    kwargs: dict[str, Any] = {"revision": source.revision, "trust_remote_code": options.trust_remote_code}
    if options.processor_backend is not None:
        kwargs["backend"] = options.processor_backend
    try:
        return cls.from_pretrained(source.ref, **kwargs)
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise _remote_code_error(source, err) from None
        raise ModelLoadError(f"cannot load the image processor of {source.ref}: {err}") from err
    except OSError as err:
        raise ModelLoadError(f"cannot load the image processor of {source.ref}: {err}") from err


def load_weights(
    auto_class: Any, source: ModelSource, options: LoadOptions, *, what: str
) -> tuple[Any, LoadReport]:
    """``auto_class.from_pretrained`` with the safety settings: repository code only when
    trusted, safetensors unless pickles are allowed, float32 weights; with its load report
    (transformers' own table of missing weights is kept off the console: the report says it)."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model, info = auto_class.from_pretrained(
            source.ref,
            revision=source.revision,
            trust_remote_code=options.trust_remote_code,
            use_safetensors=None if options.allow_pickle else True,
            dtype=torch.float32,
            output_loading_info=True,
        )
        return model, LoadReport(
            missing_keys=tuple(sorted(info.get("missing_keys") or ())),
            unexpected_keys=tuple(sorted(info.get("unexpected_keys") or ())),
            mismatched_keys=tuple(
                sorted(
                    str(k[0]) if isinstance(k, tuple) else str(k) for k in info.get("mismatched_keys") or ()
                )
            ),
        )
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise _remote_code_error(source, err) from None
        raise ModelLoadError(f"cannot load {source.ref} as {what}: {_first_line(err)}") from err
    except Exception as err:  # a truncated or corrupt weights file, a config that does not fit them
        raise ModelLoadError(
            f"cannot load the weights of {source.ref} as {what} ({type(err).__name__}: {_first_line(err)}); "
            "is the weights file complete? Save or download the model again"
        ) from err
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def processor_reference(processor: Any):
    """The processor as a PIL -> ``(3, H, W)`` float tensor function."""

    def reference(image):
        return processor(images=image, return_tensors="pt")["pixel_values"][0]

    return reference


def check_weights_format(source: ModelSource, options: LoadOptions) -> None:
    if not options.allow_pickle and not source.has_safetensors():
        raise ModelLoadError(
            f"{source.ref} has no safetensors weights. Pickled weights (.bin/.pth) are refused by default; "
            "pass --allow-pickle to load them (read with weights_only, no code runs) if you trust the source."
        )


def transformers_spec(source: ModelSource, options: LoadOptions, config: dict[str, Any]) -> ModelSpec:
    """A transformers ``AutoModelForImageClassification`` checkpoint."""
    from transformers import AutoConfig, AutoModelForImageClassification

    try:
        hf_config = AutoConfig.from_pretrained(
            source.ref, revision=source.revision, trust_remote_code=options.trust_remote_code
        )
    except ValueError as err:
        if "trust_remote_code" in str(err):
            raise _remote_code_error(source, err) from None
        raise ModelLoadError(f"cannot read the config of {source.ref}: {err}") from err
    num_labels = int(hf_config.num_labels)
    id2label = getattr(hf_config, "id2label", None) or {}
    names = [str(id2label.get(i, id2label.get(str(i), ""))) for i in range(num_labels)] if id2label else None
    label_space = resolve_label_space(num_labels, names, model=source.ref, label_map=options.label_map)
    processor = load_processor(source, options)
    check_weights_format(source, options)

    def loader(device: torch.device) -> LoadedModel:
        model, report = load_weights(
            AutoModelForImageClassification, source, options, what="an image classifier"
        )
        return LoadedModel(LogitsModule(model), report)

    architecture = (config.get("architectures") or [type(hf_config).__name__])[0]
    return processor_spec(
        source, options, processor, adapter="transformers", label_space=label_space, loader=loader,
        info={"architecture": architecture},
    )  # fmt: skip


def processor_spec(
    source: ModelSource,
    options: LoadOptions,
    processor: Any,
    *,
    adapter: str,
    label_space: Any,
    loader: Any,
    info: dict[str, Any],
) -> ModelSpec:
    """The ``ModelSpec`` of a model whose preprocessing is a transformers image processor
    (classifiers and zero-shot dual encoders alike)."""
    return ModelSpec(
        model=source.ref,
        adapter=adapter,
        label_space=label_space,
        preprocessing=preprocessing_from_processor(processor, jpeg_draft=options.jpeg_draft),
        reference_transform=processor_reference(processor),
        loader=loader,
        revision=source.revision,
        commit=source.commit(),
        info={**info, "processor": type(processor).__name__},
    )
