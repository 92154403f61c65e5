"""The wheel's build hook: the lab extension goes into share/jupyter/labextensions of a built
wheel (pip install ., pip wheel .) and not of an editable one (pip install -e .).

In a development install, ``jupyter labextension develop`` makes that folder a link to
jupyterlab_odlake/labextension, the build's output. An editable wheel carrying the extension as
well would install it through that link on the next ``pip install -e .``: its install.json would
land in the build's output, which the wheel then holds twice, and the files of the previous
install would be deleted from it on the way.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SHARED = "share/jupyter/labextensions/jupyterlab-odlake"


class LabExtensionHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["shared_data"]["jupyterlab_odlake/labextension"] = SHARED
            build_data["shared_data"]["install.json"] = f"{SHARED}/install.json"
