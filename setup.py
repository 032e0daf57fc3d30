"""Package discovery. The metadata is in pyproject.toml; this file only maps the source tree to packages.

``edgeconv/``, ``exporters/`` and ``runtime/`` install as ``edgeconv``, ``edgeconv.exporters`` and
``edgeconv.runtime``: every directory with an ``__init__.py`` below them is found, so a new subpackage
cannot be left out of the wheel (tests/test_packaging.py builds the wheel and the sdist and checks).
"""

from setuptools import find_packages, setup

PACKAGE_DIRS = {"edgeconv": "edgeconv", "edgeconv.exporters": "exporters", "edgeconv.runtime": "runtime"}


def discover() -> list[str]:
    packages = []
    for package, directory in PACKAGE_DIRS.items():
        packages += [package] + [f"{package}.{sub}" for sub in find_packages(directory)]
    return packages


if __name__ == "__main__":  # as setuptools runs it; .ci/typecheck.py imports PACKAGE_DIRS
    setup(packages=discover(), package_dir=PACKAGE_DIRS)
