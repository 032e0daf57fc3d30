"""The ``edgeconv`` command line. Each command lives in its own module and imports heavy packages lazily."""

from __future__ import annotations

import click

from edgeconv import __version__
from edgeconv.cli.bench_cmd import bench_command
from edgeconv.cli.common import EdgeconvGroup
from edgeconv.cli.eval_cmd import eval_command
from edgeconv.cli.export_cmd import export_command
from edgeconv.cli.info_cmd import info_command
from edgeconv.cli.models_cmd import models_command
from edgeconv.cli.predict_cmd import predict_command
from edgeconv.cli.report_cmd import report_command
from edgeconv.cli.results_cmd import results_command
from edgeconv.cli.select_cmd import select_command
from edgeconv.cli.sweep_cmd import sweep_command
from edgeconv.cli.target_cmd import target_group
from edgeconv.cli.train_cmd import train_command


@click.group(cls=EdgeconvGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="edgeconv")
def main() -> None:
    """Export mobile vision models to ONNX, TFLite and OpenVINO and measure them on the device they will run on.

    \b
    Workstation:  edgeconv models | train | export | eval | sweep | select | report
    Device:       edgeconv bench | info   (needs no torch: pip install 'edgeconv[onnx]')
    Boards:       edgeconv target check | setup | list; then --target ssh://... | adb://... | labgrid://... on
                  bench, eval, sweep
    Both:         edgeconv results
    """


for command in (
    models_command,
    train_command,
    export_command,
    eval_command,
    sweep_command,
    select_command,
    report_command,
    bench_command,
    info_command,
    results_command,
    target_group,
    predict_command,
):
    main.add_command(command)
