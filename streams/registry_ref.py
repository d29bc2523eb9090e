"""The registry a worker uses now, reloaded on SIGHUP without a restart.

>>> ref = RegistryRef(settings.registry_path)
>>> ref.current.facilities
>>> ref.reload()     # keeps the old registry (and logs why) if the new file is invalid
"""

from __future__ import annotations

import logging
from pathlib import Path

from schemas.registry import Registry, RegistryError, load_registry

logger = logging.getLogger(__name__)


class RegistryRef:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.current: Registry = load_registry(path)

    def reload(self) -> bool:
        try:
            registry = load_registry(self.path)
        except RegistryError as exc:
            logger.error("registry reload failed, keeping the previous one: %s", exc)
            return False
        self.current = registry
        logger.info("registry reloaded path=%s facilities=%d", self.path, len(registry.facilities))
        return True
