"""The built-in wall page: the county at a glance, read from Prometheus and the workers.

    >>> from streams.wall import WallServer, run_wall
    >>> await run_wall(settings, prometheus_url="http://127.0.0.1:9090",
    ...                worker_urls=["http://127.0.0.1:6066"], stop=stop_event)

See docs/wall.md for what the page shows and the /api/overview format.
"""

from streams.wall.overview import OverviewBuilder
from streams.wall.server import WallServer, run_wall

__all__ = ["OverviewBuilder", "WallServer", "run_wall"]
