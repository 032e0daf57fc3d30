"""mypy over the three source trees under the module names they install as.

``exporters/`` and ``runtime/`` install as ``edgeconv.exporters`` and ``edgeconv.runtime`` (setup.py), which
mypy cannot see through an editable install's import hook. This gives mypy each file with its module name,
so every module is checked and errors name the real files. Settings: ``[tool.mypy]`` in pyproject.toml.

    python .ci/typecheck.py
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mypy import build
from mypy.errors import CompileError
from mypy.fscache import FileSystemCache
from mypy.main import process_options

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from setup import PACKAGE_DIRS  # noqa: E402


def sources() -> list[build.BuildSource]:
    """Every .py file of every package directory, with the module name it installs as."""
    found = []
    for package, directory in PACKAGE_DIRS.items():
        for path in sorted((ROOT / directory).rglob("*.py")):
            parts = list(path.relative_to(ROOT / directory).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found.append(build.BuildSource(str(path.relative_to(ROOT)), ".".join([package, *parts])))
    return found


def main() -> int:
    os.chdir(ROOT)
    _, options = process_options(["--config-file", str(ROOT / "pyproject.toml")], require_targets=False)
    files = sources()
    try:
        result = build.build(files, options, fscache=FileSystemCache())
    except CompileError as exc:
        print("\n".join(exc.messages))
        return 2
    for line in result.errors:
        print(line)
    errors = sum(": error:" in line for line in result.errors)
    print(
        f"{'Found ' + str(errors) + ' errors' if errors else 'Success: no issues found'} in {len(files)} source files"
    )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
