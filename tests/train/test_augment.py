"""The augmentation policies: torchvision's definitions of the random-resized crop, flip and colour jitter, and
each image augmented by its own seed whatever batch or process it is in. Also the optimisers and schedules."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from edgeconv.checkpoint import load_checkpoint
from edgeconv.data import DataSplits, load_data
from edgeconv.models import create_model
from edgeconv.train import TrainConfig, fit
from edgeconv.train.augment import _colour, _parameters, augment
from edgeconv.train.recipe import Schedule

GREY = np.array([0.299, 0.587, 0.114], np.float32)


def rngs(*indices: int, epoch: int = 1) -> list[np.random.Generator]:
    return [np.random.default_rng([0, epoch, i]) for i in indices]


def test_random_resized_crops_follow_torchvision() -> None:
    """2,000 crops: area 8-100% of the image, aspect 3/4-4/3, inside the image, half of them flipped."""
    theta, jitter = _parameters("standard", rngs(*range(2000)))
    assert jitter is not None
    sx, sy, tx, ty = theta[:, 0, 0].abs(), theta[:, 1, 1], theta[:, 0, 2], theta[:, 1, 2]
    assert float((sx * sy).min()) >= 0.08 - 1e-6 and float((sx * sy).max()) <= 1.0
    assert float((sx / sy).min()) >= 3 / 4 - 1e-6 and float((sx / sy).max()) <= 4 / 3 + 1e-6
    assert bool(((tx.abs() + sx) <= 1 + 1e-6).all()) and bool(((ty.abs() + sy) <= 1 + 1e-6).all())
    assert 0.45 < float((theta[:, 0, 0] < 0).float().mean()) < 0.55
    assert float(jitter.min()) >= 0.6 and float(jitter.max()) <= 1.4 and float(jitter.std()) > 0.2


def test_colour_jitter_is_torchvisions_blend() -> None:
    """Brightness blends with black, contrast with the mean grey level, saturation with the grey image."""
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    factors = torch.tensor([[1.3, 0.7, 1.2], [0.8, 1.4, 0.6]])
    expected = x.numpy().copy()
    for i, (b, c, s) in enumerate(factors.numpy()):
        image = np.clip(expected[i] * b, 0, 1)
        mean = float((image * GREY[:, None, None]).sum(0).mean())
        image = np.clip((image - mean) * c + mean, 0, 1)
        grey = (image * GREY[:, None, None]).sum(0, keepdims=True)
        expected[i] = np.clip((image - grey) * s + grey, 0, 1)
    assert np.allclose(_colour(x.clone(), factors).numpy(), expected, atol=1e-6)


def test_each_image_is_augmented_by_its_own_seed() -> None:
    """The same image gets the same crop in any batch (any worker, any process); another epoch, another crop."""
    x = torch.rand(3, 3, 16, 16, generator=torch.Generator().manual_seed(1))
    for policy in ("light", "standard"):
        together = augment(x.clone(), policy, rngs(10, 11, 12))
        alone = augment(x[1:2].clone(), policy, rngs(11))
        assert torch.allclose(together[1:2], alone, atol=1e-6)
        assert not torch.allclose(augment(x[1:2].clone(), policy, rngs(11, epoch=2)), alone, atol=1e-3)
        assert together.shape == x.shape and float(together.min()) >= 0 and float(together.max()) <= 1
    assert torch.equal(augment(x.clone(), "none", rngs(10, 11, 12)), x)
    whole = torch.zeros(1, 2, 3)
    whole[0, 0, 0] = whole[0, 1, 1] = 1.0
    grid = torch.nn.functional.affine_grid(whole, [1, 3, 16, 16], align_corners=False)
    same = torch.nn.functional.grid_sample(x[:1], grid, mode="bilinear", padding_mode="border", align_corners=False)
    assert torch.allclose(same, x[:1], atol=1e-6)  # the whole-image crop is the image: no resampling blur


def test_the_policy_follows_the_data_and_is_recorded(tmp_path: Path) -> None:
    data = load_data("digits", 32)
    few = DataSplits(data.train.subset(np.arange(64)), data.val.subset(np.arange(40)), data.preprocessing, data.source)
    folder = DataSplits(few.train, few.val, few.preprocessing, {"kind": "imagefolder", "path": "x"})
    for splits, policy in ((few, "light"), (folder, "standard")):
        result = fit(create_model("mobilenetv2", 0.35, 10, 32), splits, TrainConfig(epochs=1), tmp_path / policy)
        recipe = load_checkpoint(result.checkpoint)[1]["train_config"]
        assert (recipe["augment"], recipe["optimizer"], recipe["schedule"], recipe["processes"]) == (
            policy,
            "adamw",
            "cosine",
            1,
        )
        assert result.history[0]["images_per_second"] > 0
        log = result.checkpoint.with_suffix(".train.log").read_text().splitlines()
        assert len(log) == 1 and log[0].startswith("epoch   1/1: train loss ")


def test_plateau_divides_the_rate_by_ten_after_two_epochs_without_progress() -> None:
    model = torch.nn.Linear(2, 2)
    config = TrainConfig(schedule="plateau", optimizer="rmsprop", warmup_epochs=1)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=config.learning_rate)
    schedule = Schedule(optimizer, config, "scratch", steps_per_epoch=4, epochs=10)
    rates = []
    for loss in (1.0, 0.9, 0.95, 0.95, 0.95, 0.95):
        for _ in range(4):
            optimizer.step()
            schedule.step()
        schedule.epoch_done(loss)
        rates.append(optimizer.param_groups[0]["lr"])
    assert config.learning_rate == 0.01
    assert rates[:4] == [0.01] * 4 and math.isclose(rates[4], 0.001) and math.isclose(rates[5], 0.001)


def test_the_optimisers_are_the_published_recipes() -> None:
    from edgeconv.train.recipe import start_phase

    model = create_model("mobilenetv2", 0.35, 10, 32)
    sgd = start_phase(model, TrainConfig(optimizer="sgd"), "scratch")
    rmsprop = start_phase(model, TrainConfig(optimizer="rmsprop"), "scratch")
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["nesterov"] and sgd.defaults["momentum"] == 0.9
    assert isinstance(rmsprop, torch.optim.RMSprop)
    assert (rmsprop.defaults["alpha"], rmsprop.defaults["eps"], rmsprop.defaults["momentum"]) == (0.9, 1e-3, 0.9)
    assert [g["weight_decay"] for g in rmsprop.param_groups] == [1e-5, 0.0]  # none on BatchNorm and biases
