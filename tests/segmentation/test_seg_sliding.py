import pytest
import torch

from rsbench.engine.sliding import sliding_logits, window_starts


def test_window_starts_cover_the_axis_with_the_last_flush_to_the_edge():
    assert window_starts(100, 40, 30) == [0, 30, 60]
    assert window_starts(64, 32, 21) == [0, 21, 32]
    assert window_starts(32, 32, 21) == [0]
    assert window_starts(20, 32, 21) == [0]


def test_one_window_equals_whole_image_inference():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 5, padding=2), torch.nn.ReLU(),
                                torch.nn.Conv2d(8, 4, 3, padding=1)).eval()
    x = torch.rand(2, 3, 24, 24)
    with torch.no_grad():
        assert torch.allclose(sliding_logits(model, x, 24, 16, 4), model(x))


def test_overlapping_windows_equal_whole_image_for_a_pointwise_model():
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 5, 1).eval()
    x = torch.rand(2, 3, 50, 37)
    with torch.no_grad():
        out = sliding_logits(model, x, (16, 12), (11, 7), 5)
        assert out.shape == (2, 5, 50, 37)
        assert torch.allclose(out, model(x), atol=1e-6)


def test_small_images_are_padded_and_cropped_back():
    seen = []

    def model(crop):
        seen.append(tuple(crop.shape[-2:]))
        return crop[:, :1].repeat(1, 2, 1, 1)

    x = torch.rand(1, 3, 10, 20)
    out = sliding_logits(model, x, 16, 8, 2)
    assert set(seen) == {(16, 16)}
    assert out.shape == (1, 2, 10, 20)
    assert torch.allclose(out[:, 0], x[:, 0])


def test_bad_stride_is_an_error():
    with pytest.raises(ValueError, match="stride"):
        window_starts(10, 4, 0)


def test_batching_windows_changes_nothing_but_the_number_of_calls():
    # A 3x3 conv sees window borders, so each window's logits are its own: batching must
    # place every window's output back exactly where one-call-per-window puts it.
    torch.manual_seed(0)
    model = torch.nn.Conv2d(3, 4, 3, padding=1).eval()
    image = torch.rand(2, 3, 50, 70)
    calls = []

    def counted(x):
        calls.append(len(x))
        return model(x)

    with torch.no_grad():
        one = sliding_logits(counted, image, 32, 20, 4, window_batch=1)
        n_windows = len(calls)
        calls.clear()
        many = sliding_logits(counted, image, 32, 20, 4, window_batch=4)
    # Rows at 0, 18 and columns at 0, 20, 38: 6 windows of 2 images each.
    assert n_windows == 6 and calls == [8, 4]
    torch.testing.assert_close(one, many, rtol=0, atol=1e-6)
