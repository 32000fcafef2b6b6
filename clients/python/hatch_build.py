"""Build hook: ships the gateway's Lua scripts inside the package.

The scripts live once, in the repository's ``src/bus/redis/scripts/``, where
the gateway embeds them. A wheel or sdist built from the repository takes
them from there into ``tactical_link/lua/``; a wheel built from an sdist finds
them already in ``src/tactical_link/lua/``. Anything else is an error, never a
package without its scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# The scripts a durable publish runs, concatenated in this order.
SCRIPTS = ("append.lua", "runs.lua", "publish.lua")


class LuaScripts(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "editable":
            raise RuntimeError(
                "tactical-link cannot be installed in editable mode: it reads its Lua "
                "scripts from the installed package; use `pip install ./clients/python`"
            )
        root = Path(self.root)
        repository = root.parent.parent / "src" / "bus" / "redis" / "scripts"
        packaged = root / "src" / "tactical_link" / "lua"
        if all((repository / name).is_file() for name in SCRIPTS):
            prefix = "src/tactical_link/lua" if self.target_name == "sdist" else "tactical_link/lua"
            for name in SCRIPTS:
                build_data["force_include"][str(repository / name)] = f"{prefix}/{name}"
        elif not all((packaged / name).is_file() for name in SCRIPTS):
            raise FileNotFoundError(
                f"the Lua scripts {', '.join(SCRIPTS)} are neither in {repository} "
                f"(a build from the repository) nor in {packaged} (a build from an sdist)"
            )
