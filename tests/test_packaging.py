"""The package as pip builds it from a checkout: the development install .ci/setup makes
(``pip install -e .`` and ``jupyter labextension develop``), made again as a second setup does,
and then the wheel deploy/jupyterhub/install.sh builds from the same tree.

Each runs in a copy of the checkout and a venv of its own, so the checkout's .venv is not touched.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10: jupyterlab brings tomli
    import tomli as tomllib

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[1]
BUILT = ROOT / "jupyterlab_odlake" / "labextension"  # the lab extension .ci/setup built from src/
SHARED = "share/jupyter/labextensions/jupyterlab-odlake"


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def run(*argv, cwd=None, env=None) -> None:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


@pytest.fixture
def checkout(tmp_path) -> Path:
    """A copy of the checkout's files (tracked or not ignored) with the lab extension already built."""
    assert (BUILT / "package.json").exists(), "the lab extension is not built: run bash .ci/setup"
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    copy = tmp_path / "checkout"
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    shutil.copytree(BUILT, copy / "jupyterlab_odlake" / "labextension")
    return copy


@pytest.fixture
def venv(tmp_path) -> tuple[Path, dict]:
    """A venv to install into, and an environment in which pip builds with pyproject.toml's build
    backend and its plugins, installed once beside it (jupyterlab, also named there, only runs the
    extension's build, which is skipped: the copy holds the built extension)."""
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    backend = tmp_path / "backend"
    wanted = [r for r in requires if not r.startswith("jupyterlab")] + ["editables"]  # editables: hatchling's -e
    run(sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--target", backend, *wanted)
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv)
    env = dict(os.environ, PYTHONPATH=str(backend), SKIP_JUPYTER_BUILDER="1")
    return venv, env


def test_a_second_development_install_leaves_the_tree_as_it_was_and_the_wheel_builds(checkout, venv, tmp_path):
    venv, env = venv
    # the checkout's pip, installing into the venv; the backend from PYTHONPATH
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "--python", venv / "bin" / "python")
    labextensions = venv / "share" / "jupyter" / "labextensions"
    extension = checkout / "jupyterlab_odlake" / "labextension"
    built = files_under(extension)
    develop = (  # what `jupyter labextension develop --overwrite .` runs, linking into the venv above
        "from jupyter_builder.federated_extensions import develop_labextension_py as develop; "
        f"develop('.', overwrite=True, labextensions_dir={str(labextensions)!r})"
    )

    for _ in range(2):  # .ci/setup's install step, run by a first setup and by a second one
        run(*pip, "install", "--no-build-isolation", "--no-deps", "-e", checkout, env=env)
        run(sys.executable, "-c", develop, cwd=checkout, env=env)
        link = labextensions / "jupyterlab-odlake"
        assert link.is_symlink() and link.resolve() == extension.resolve()
        assert files_under(extension) == built  # nothing written into, or deleted from, the source tree

    wheels = tmp_path / "wheels"
    run(*pip, "wheel", "--no-build-isolation", "--no-deps", "-w", wheels, checkout, env=env)
    [wheel] = wheels.glob("jupyterlab_odlake-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    # the server puts its REST API's description together from paths.yaml; openapi.json is the whole
    assert {"jupyterlab_odlake/server/paths.yaml", "jupyterlab_odlake/server/openapi.json"} <= set(names)
    shared = [n.split(f"/data/{SHARED}/", 1)[1] for n in names if f".data/data/{SHARED}/" in n]
    assert shared.count("install.json") == 1
    assert sorted(n for n in shared if n != "install.json") == built
