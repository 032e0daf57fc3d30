"""Training learns, checkpoints round-trip exactly, foreign weights load, distillation runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from edgeconv.checkpoint import load_checkpoint, read_checkpoint
from edgeconv.data import load_data
from edgeconv.errors import ArtifactError, UsageError
from edgeconv.models import create_model
from edgeconv.models.mobilenetv2 import INVERTED_RESIDUAL_SETTING
from edgeconv.train import TrainConfig, fit, load_pretrained
from edgeconv.train.loop import distillation_loss
from edgeconv.train.recipe import lr_factor


class TorchvisionLayoutMobileNetV2(nn.Module):
    """MobileNetV2 laid out module-for-module like torchvision's (its state-dict names differ from ours)."""

    def __init__(self, width: float, num_classes: int) -> None:
        super().__init__()
        from edgeconv.models.layers import make_divisible

        def conv_bn_relu(inp: int, out: int, k: int = 3, stride: int = 1, groups: int = 1) -> nn.Sequential:
            return nn.Sequential(
                nn.Conv2d(inp, out, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(out), nn.ReLU6()
            )

        class Block(nn.Module):
            def __init__(self, inp: int, out: int, stride: int, t: int) -> None:
                super().__init__()
                hidden = inp * t
                layers = [conv_bn_relu(inp, hidden, 1)] if t != 1 else []
                layers += [
                    conv_bn_relu(hidden, hidden, 3, stride, hidden),
                    nn.Conv2d(hidden, out, 1, bias=False),
                    nn.BatchNorm2d(out),
                ]
                self.conv = nn.Sequential(*layers)
                self.skip = stride == 1 and inp == out

            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x + self.conv(x) if self.skip else self.conv(x)

        inp = make_divisible(32 * width)
        features: list[nn.Module] = [conv_bn_relu(3, inp, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            out = make_divisible(c * width)
            for i in range(n):
                features.append(Block(inp, out, s if i == 0 else 1, t))
                inp = out
        features.append(conv_bn_relu(inp, 1280, 1))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(self.features(x), 1), 1))


def randomised(model: nn.Module, seed: int) -> nn.Module:
    """Random weights and BatchNorm statistics everywhere, so that a wrong mapping shows in the outputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in model.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.rand(tensor.shape, generator=generator) * 0.5 + 0.25)
    return model.eval()


def test_short_training_learns_far_above_chance(tmp_path: Path) -> None:
    # 5 epochs at 32 px: 71.9% held-out top-1 on an AVX2 CPU, 66.0% with ATEN_CPU_CAPABILITY=default and
    # ONEDNN_MAX_CPU_ISA=SSE41 (another CPU's kernels, another model); chance is 10%
    torch.set_num_threads(2)
    config = TrainConfig(epochs=5, warmup_epochs=0.3, lr=5e-3)
    checkpoint = fit(create_model("mobilenetv2", 0.35, 10, 32), load_data("digits", 32), config, tmp_path).checkpoint
    payload = read_checkpoint(checkpoint)
    meta = payload["meta"]
    assert meta["metrics"]["val_top1"] >= 0.4
    history = json.loads(checkpoint.with_name(checkpoint.stem + ".train.json").read_text())["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert meta["class_names"] == [str(d) for d in range(10)]
    assert meta["preprocessing"]["resolution"] == 32 and meta["dataset"]["kind"] == "digits"
    assert meta["dataset"]["num_val"] == 359 and "torch" in meta["versions"]
    assert payload["config"] == {"model": "mobilenetv2", "width": 0.35, "resolution": 32, "num_classes": 10}


def test_checkpoint_reloads_to_identical_outputs(trained_checkpoint: Path) -> None:
    first, _ = load_checkpoint(trained_checkpoint)
    second, _ = load_checkpoint(trained_checkpoint)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(first(x), second(x))
        assert not torch.equal(first(x), create_model("mobilenetv2", 0.35, 10, 32)(x))


def test_torchvision_layout_weights_load_by_order(tmp_path: Path) -> None:
    source = randomised(TorchvisionLayoutMobileNetV2(0.5, 10), seed=1)
    torch.save(source.state_dict(), tmp_path / "tv.pth")
    model = create_model("mobilenetv2", 0.5, 10, 32)
    report = load_pretrained(model, tmp_path / "tv.pth")
    assert report.matched_by == "order" and not report.head_reinitialised
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(x), source(x), rtol=0, atol=0)


def test_same_names_load_by_name_with_wrapper_prefixes(tmp_path: Path) -> None:
    source = randomised(create_model("mnasnet", 0.5, 10, 32), seed=2)
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, tmp_path / "ddp.pt")
    model = create_model("mnasnet", 0.5, 10, 32)
    assert load_pretrained(model, tmp_path / "ddp.pt").matched_by == "name"
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(model.eval()(x), source(x))


def test_new_class_count_reinitialises_only_the_head(tmp_path: Path) -> None:
    source = randomised(TorchvisionLayoutMobileNetV2(0.5, 1000), seed=3)
    torch.save(source.state_dict(), tmp_path / "imagenet.pth")
    model = create_model("mobilenetv2", 0.5, 7, 32)
    report = load_pretrained(model, tmp_path / "imagenet.pth")
    assert report.head_reinitialised and report.skipped == ["classifier.1.weight", "classifier.1.bias"]
    assert torch.equal(model.features[0][0].weight, source.features[0][0].weight)
    assert model.classifier[1].weight.abs().max() < 0.1 and model.classifier[1].bias.abs().max() == 0


def test_weights_that_do_not_fit_are_refused_naming_the_tensor(tmp_path: Path) -> None:
    torch.save(create_model("mobilenetv2", 0.75, 10).state_dict(), tmp_path / "wider.pt")
    with pytest.raises(ArtifactError, match=r"tensor 'features.0.0.weight' is \(16, 3, 3, 3\) here but"):
        load_pretrained(create_model("mobilenetv2", 0.5, 10), tmp_path / "wider.pt")
    torch.save(create_model("mnasnet", 1.0, 10).state_dict(), tmp_path / "other.pt")
    with pytest.raises(ArtifactError, match="does not fit this model"):
        load_pretrained(create_model("mobilenetv2", 1.0, 10), tmp_path / "other.pt")
    (tmp_path / "junk.pt").write_bytes(b"junk")
    with pytest.raises(ArtifactError, match="not a readable PyTorch file"):
        load_pretrained(create_model("mobilenetv2", 1.0, 10), tmp_path / "junk.pt")


def test_distillation_loss_and_schedule() -> None:
    logits = torch.randn(8, 10)
    assert distillation_loss(logits, logits, 4.0).abs() < 1e-6
    assert distillation_loss(logits, -logits, 4.0) > 0.1
    factors = [lr_factor(s, 100, 10) for s in range(100)]
    assert factors[0] == pytest.approx(0.1) and factors[9] == 1.0
    assert factors == sorted(factors[:10]) + sorted(factors[10:], reverse=True)


def test_distillation_from_a_teacher_runs_and_is_recorded(trained_checkpoint: Path, tmp_path: Path) -> None:
    teacher, _ = load_checkpoint(trained_checkpoint)
    data = load_data("digits", 32)
    data.train = data.train.subset(torch.arange(256).numpy())
    student = create_model("mobilenetv2", 0.25, 10, 32)
    result = fit(
        student,
        data,
        TrainConfig(epochs=1, warmup_epochs=0.2),
        tmp_path,
        teacher=teacher,
        meta={"teacher": str(trained_checkpoint)},
    )
    assert read_checkpoint(result.checkpoint)["meta"]["teacher"] == str(trained_checkpoint)
    assert result.history[0]["train_loss"] > 0


def test_bad_training_settings() -> None:
    with pytest.raises(UsageError, match="optimizer must be one of"):
        TrainConfig(optimizer="lion")
    with pytest.raises(UsageError, match="lr must be a finite number"):
        TrainConfig(lr=float("nan"))
