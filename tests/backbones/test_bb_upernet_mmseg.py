"""UperNet over a feature pyramid's levels equals mmseg's ``UPerHead(in_channels=[...])``, the head
mmseg puts on a ResNet's or a Swin's four stages, on the same weights."""

import importlib.util
import sys
from types import ModuleType

import pytest
import torch

from rsbench.heads.upernet import UperHead

CHANNELS = [8, 16, 32, 64]  # the widths of four levels at strides 4, 8, 16, 32


def mmseg_uper_head(monkeypatch):
    if importlib.util.find_spec("mmseg") is None:
        pytest.skip("mmsegmentation is not installed (the dev extra)")
    # mmseg.models imports ftfy for a text tokenizer that UPerHead never uses.
    if importlib.util.find_spec("ftfy") is None:
        monkeypatch.setitem(sys.modules, "ftfy", ModuleType("ftfy"))
    from mmseg.models.decode_heads import UPerHead

    return UPerHead(in_channels=CHANNELS, in_index=[0, 1, 2, 3], channels=16,
                    pool_scales=(1, 2, 3, 6), num_classes=3, dropout_ratio=0.1,
                    norm_cfg={"type": "BN", "requires_grad": True}, align_corners=False)


def mmseg_name(ours: str) -> str:
    """The mmseg UPerHead key of one of ours (ConvModule's conv / bn are our 0 / 1)."""
    parts = ours.split(".")
    unit = {"0": "conv", "1": "bn"}
    if parts[0] == "classifier":
        return ".".join(["conv_seg", *parts[1:]])
    if parts[0] == "ppm":  # ppm.stages.i.1.{0,1} -> psp_modules.i.1.{conv,bn}
        return ".".join(["psp_modules", parts[2], "1", unit[parts[4]], *parts[5:]])
    top = {"ppm_bottleneck": "bottleneck", "fuse": "fpn_bottleneck",
           "laterals": "lateral_convs", "fpn_convs": "fpn_convs"}[parts[0]]
    if parts[0] in ("laterals", "fpn_convs"):
        return ".".join([top, parts[1], unit[parts[2]], *parts[3:]])
    return ".".join([top, unit[parts[1]], *parts[2:]])


def test_upernet_on_four_levels_equals_mmseg_uperhead(monkeypatch):
    ref = mmseg_uper_head(monkeypatch)
    torch.manual_seed(0)
    ours = UperHead(CHANNELS[-1], 3, channels=16, level_channels=CHANNELS)
    for m in ours.modules():  # non-trivial eval statistics
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    state = ours.state_dict()
    theirs = {mmseg_name(k): v for k, v in state.items()}
    assert set(theirs) == set(ref.state_dict())  # every tensor of mmseg's head has its twin
    ref.load_state_dict(theirs)
    ours.eval(), ref.eval()
    g = torch.Generator().manual_seed(1)
    feats = [torch.randn(2, c, 32 // s, 32 // s, generator=g)
             for c, s in zip(CHANNELS, (4, 8, 16, 32), strict=True)]
    with torch.no_grad():
        torch.testing.assert_close(ours(feats, (32, 32)), ref(feats), rtol=0, atol=1e-6)
