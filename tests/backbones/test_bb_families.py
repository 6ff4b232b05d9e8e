"""Arch families: build_backbone, check_arch and known_archs dispatch by the family owning a name."""

import pytest
import torch

from rsbench.backbones import Backbone, InputSpec, build_backbone, check_arch, known_archs
from rsbench.backbones.factory import FAMILIES, family_of
from rsbench.errors import SpecError


class OneConvFamily:
    """A prefixed family of one-conv encoders, named ``conv:<width>``."""

    prefixed = True

    def names(self):
        return ["conv:8"]

    def check(self, arch):
        if not arch.split(":", 1)[1].isdigit():
            raise SpecError(f"{arch}: the width after conv: must be a number")

    def build_model(self, arch, input_spec, pool, device, **overrides):
        width = int(arch.split(":", 1)[1])
        with torch.device(device or "cpu"):
            return torch.nn.Conv2d(input_spec.in_chans, width, 3)

    def wrap(self, model, input_spec, pool, arch):
        return Backbone(model, input_spec, pool, arch)


@pytest.fixture
def conv_family():
    FAMILIES.register("conv", OneConvFamily())
    yield
    FAMILIES._entries.pop("conv")


def test_a_registered_family_builds_its_names(conv_family):
    assert "conv:8" in known_archs()
    check_arch("conv:16")
    bb = build_backbone("conv:16", InputSpec(img_size=32), pool="avg")
    assert bb.arch == "conv:16" and bb.model.out_channels == 16
    with pytest.raises(SpecError, match="width after conv: must be a number"):
        check_arch("conv:wide")


def test_plain_names_go_to_the_vit_family_and_prefixes_to_theirs():
    assert family_of("vit_base_patch16") is FAMILIES.get("vit")
    assert family_of("timm:resnet18") is FAMILIES.get("timm")
    assert "vit_base_patch16" in known_archs()


@pytest.mark.parametrize("arch", ["vit_bse_patch16", "nosuch:model", "timm:"])
def test_unknown_names_are_one_line_spec_errors(arch):
    with pytest.raises(SpecError) as err:
        check_arch(arch)
    assert "\n" not in str(err.value)


def test_unknown_plain_name_suggests_the_close_one():
    with pytest.raises(SpecError, match="did you mean vit_base_patch16"):
        check_arch("vit_bse_patch16")
