"""Safe by default: pickled weights and repository code are refused unless asked for."""

from __future__ import annotations

import json

import pytest
import torch

from imagenet_x_hf.runner import LoadOptions, ModelLoadError, model_spec


def test_pickled_weights_need_allow_pickle(tmp_path, tiny):
    from transformers import ViTForImageClassification

    folder = tiny.build_vit(tmp_path / "vit", pickled=True)
    assert not list(folder.glob("*.safetensors"))
    model = ViTForImageClassification.from_pretrained(folder, use_safetensors=False)
    with pytest.raises(ModelLoadError, match="--allow-pickle"):
        model_spec(str(folder))
    loaded = model_spec(str(folder), options=LoadOptions(allow_pickle=True)).load()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model.eval()(pixel_values=x).logits)


def test_repository_code_is_not_run_without_trust(tmp_path):
    folder = tmp_path / "custom"
    folder.mkdir()
    (folder / "config.json").write_text(
        json.dumps(
            {
                "model_type": "fancy",
                "architectures": ["FancyForImageClassification"],
                "auto_map": {"AutoConfig": "configuration_fancy.FancyConfig"},
            }
        )
    )
    marker = tmp_path / "ran"
    (folder / "configuration_fancy.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    with pytest.raises(ModelLoadError, match="--trust-remote-code"):
        model_spec(str(folder))
    assert not marker.exists()
