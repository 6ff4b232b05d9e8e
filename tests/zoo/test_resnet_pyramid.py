"""SSL4EO-S12 ResNet-50 as a feature pyramid: timm's features_only maps of the same weights."""

import torch
import torchgeo.models as tg
from zoo_helpers import EUROSAT13, released, run_backbone, zoo_card

from rsbench.backbones.pyramid import level_channels
from rsbench.heads.upernet import SegmentationModel, segmentation_head

LAYERS = (1, 1, 1, 1)  # one bottleneck per stage: timm's resnet50 builder takes layers


def test_levels_equal_timms_features_only_model(tmp_path):
    torch.manual_seed(0)
    reference = tg.resnet50(None, in_chans=13, num_classes=0, layers=LAYERS).eval()
    path = released(tmp_path, reference)
    card = zoo_card("zoo:resnet50", path, pool="avg", arch_overrides={"layers": list(LAYERS)})
    backbone, _ = run_backbone(card, EUROSAT13)
    # torchgeo's builder as timm's features_only model (layer1-layer4: strides 4-32), same file
    twin = tg.resnet50(None, in_chans=13, layers=LAYERS, features_only=True,
                       out_indices=(1, 2, 3, 4)).eval()
    twin.load_state_dict(torch.load(path, weights_only=True), strict=False)
    x = torch.rand(2, 13, 32, 32)
    with torch.no_grad():
        got = backbone.feature_maps(x)
        expected = twin(backbone.normalize(x))
    assert level_channels(backbone) == [256, 512, 1024, 2048]
    assert [m.shape[-1] for m in got] == [8, 4, 2, 1]
    assert all(torch.equal(g, e) for g, e in zip(got, expected, strict=True))
    with torch.no_grad():  # the pooled features stay torchgeo's forward
        assert (backbone(x) - reference(backbone.normalize(x))).abs().max().item() < 1e-5


def test_upernet_takes_the_resnet_levels(tmp_path):
    torch.manual_seed(1)
    path = released(tmp_path, tg.resnet50(None, in_chans=13, num_classes=0, layers=LAYERS))
    card = zoo_card("zoo:resnet50", path, pool="avg", arch_overrides={"layers": list(LAYERS)})
    backbone, _ = run_backbone(card, EUROSAT13)
    head = segmentation_head("upernet", backbone.embed_dim, 3, 16, level_channels(backbone))
    model = SegmentationModel(backbone, head, frozen=True).eval()
    assert [lat[0].in_channels for lat in model.head.laterals] == [256, 512, 1024]
    with torch.no_grad():
        assert model(torch.rand(1, 13, 32, 32)).shape == (1, 3, 32, 32)
