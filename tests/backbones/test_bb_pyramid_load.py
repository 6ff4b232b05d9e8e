"""A checkpoint in timm's own keys (the classifier's state dict, head included) loads into a
feature pyramid through rsbench's safe loader, and the load report accounts for every tensor."""

import pytest
import timm
import torch
from pyramid_models import SMALL

from rsbench.backbones import InputSpec
from rsbench.checkpoints import load_backbone

NAMES = list(SMALL)


def timm_classifier(name: str, size: int):
    """timm's model as a classifier (10 classes), seeded, the way timm saves it."""
    torch.manual_seed(0)
    kwargs = dict(SMALL[name], **({"img_size": size} if "swin" in name else {}))
    return timm.create_model(name, num_classes=10, **kwargs).eval()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("fmt", ["safetensors", "pth"])
def test_timm_checkpoint_loads_every_encoder_tensor(tmp_path, name, fmt):
    ref = timm_classifier(name, 32)
    state = ref.state_dict()
    path = tmp_path / f"{name}.{fmt}"
    if fmt == "safetensors":
        from safetensors.torch import save_file

        save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    else:
        torch.save(state, path)
    bb = load_backbone(path, f"timm:{name}", InputSpec(img_size=32), pool="avg",
                       **SMALL[name]).eval()
    report = bb.load_report
    loaded = bb.model.state_dict()
    head = {"resnet18": {"fc.weight", "fc.bias"}, "convnext_atto": {"head.fc.weight", "head.fc.bias"},
            "swin_tiny_patch4_window7_224": {"head.fc.weight", "head.fc.bias"}}[name]
    assert set(state) - set(loaded) == head  # only the classifier is left out
    assert report.matched == report.total_keys == len(loaded)
    assert report.params_loaded == report.params_total == sum(v.numel() for v in loaded.values())
    assert not report.missing and not report.unexpected and not report.mismatched
    assert report.complete and report.ignored_count == len(head)
    assert all(torch.equal(loaded[k], state[k]) for k in loaded)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        want = ref.forward_head(ref.forward_features(bb.normalize(x)), pre_logits=True)
        torch.testing.assert_close(bb.pooled(x), want, rtol=0, atol=0)
