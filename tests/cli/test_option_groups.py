"""Options declared once: the training settings come from TrainConfig's fields and mean the same in `train` and
`sweep`, the int8 settings are the same in `export` and `sweep`; what the command line gives reaches the sweep's
settings unchanged."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import click
import pytest

from edgeconv.cli.eval_cmd import eval_command
from edgeconv.cli.export_cmd import export_command
from edgeconv.cli.options import bench_settings_from, train_config_from
from edgeconv.cli.sweep_cmd import sweep_command, sweep_config
from edgeconv.cli.train_cmd import train_command
from edgeconv.train import TrainConfig

SWEEP = ["--model", "mobilenetv2", "--budget-ms", "5"]


def options_by_name(command: click.Command) -> dict[str, click.Option]:
    return {param.name or "": param for param in command.params if isinstance(param, click.Option)}


def test_every_training_setting_is_one_option_of_train_and_sweep() -> None:
    train, sweep = options_by_name(train_command), options_by_name(sweep_command)
    for setting in fields(TrainConfig):
        assert train[setting.name].opts == sweep[setting.name].opts, setting.name
        assert train[setting.name].opts[0] == setting.metadata["flag"].split("/")[0]
        assert type(train[setting.name].type) is type(sweep[setting.name].type), setting.name
    assert train["epochs"].default == 15 and sweep["epochs"].default == 10  # the sweep trains many candidates
    export = options_by_name(export_command)
    for name in ("int8_scheme", "calib_size", "max_drop"):
        assert export[name].opts == sweep[name].opts and export[name].default == sweep[name].default, name
    evaluation = options_by_name(eval_command)
    for name in ("device", "workers", "load"):  # one meaning wherever PyTorch runs or a folder is read
        for other in (sweep, evaluation):
            assert other[name].opts == train[name].opts and other[name].help == train[name].help, name


def test_training_options_reach_the_sweeps_trainer() -> None:
    args = [*SWEEP, "--epochs", "3", "--lr", "0.01", "--batch-size", "32", "--augment", "none", "--optimizer", "sgd"]
    args += ["--max-drop", "0.5", "--calib-size", "64", "--device", "cpu", "--workers", "2", "--load", "stream"]
    params = dict(sweep_command.make_context("sweep", args).params)
    bench, train = bench_settings_from(params), train_config_from(params)
    params.pop("baseline"), params.pop("targets"), params.pop("accept_new_host_key"), params.pop("out_dir")
    params.pop("as_json"), params.pop("db"), params.pop("boards")
    config = sweep_config(**params, bench=bench, train=train)
    assert config.train == TrainConfig(epochs=3, batch_size=32, optimizer="sgd", lr=0.01, augment="none")
    assert config.to_dict()["train"]["epochs"] == 3  # recorded in sweep.json
    assert (config.max_drop, config.calib_size) == (0.5, 64)
    assert (config.device, config.workers, config.load) == ("cpu", 2, "stream")


@pytest.mark.parametrize("bad", [["--lr", "0"], ["--lr", "nan"], ["--label-smoothing", "1"], ["--batch-size", "1"]])
def test_bad_training_settings_are_usage_errors(bad: list[str]) -> None:
    with pytest.raises(click.BadParameter):
        sweep_command.make_context("sweep", [*SWEEP, *bad])


def test_every_command_that_takes_a_target_reaches_a_farm_the_same_way() -> None:
    from edgeconv.cli.bench_cmd import bench_command
    from edgeconv.cli.info_cmd import info_command
    from edgeconv.cli.target_cmd import target_group

    commands = [bench_command, eval_command, sweep_command, export_command, info_command]
    commands += [target_group.commands[name] for name in ("check", "setup", "list")]
    reference = options_by_name(bench_command)
    for command in commands:
        found = options_by_name(command)
        for name in ("coordinator", "priority", "kick", "accept_new_host_key"):
            assert found[name].opts == reference[name].opts and found[name].help == reference[name].help, name


def test_farm_settings_set_on_the_command_line_reach_the_farm_targets() -> None:
    from edgeconv.cli.bench_cmd import bench_command
    from edgeconv.targets.farm.spec import FarmSettings, settings

    saved = FarmSettings(**vars(settings))
    try:
        model = str(Path(__file__).parent.parent / "fixtures" / "tiny_mobilenetv2_fp32.onnx")
        bench_command.make_context("bench", [model, "--coordinator", "farm:1", "--priority", "3", "--kick"])
        assert (settings.coordinator, settings.priority, settings.kick) == ("farm:1", 3, True)
        assert settings.argv() == ["--coordinator", "farm:1", "--priority", "3", "--kick"]  # to a fleet's sweeps
    finally:
        vars(settings).update(vars(saved))
