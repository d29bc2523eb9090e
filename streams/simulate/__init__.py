"""The simulated alliance: deterministic, seedable traffic for every facility of a registry.

>>> from streams.simulate import generate, scale_registry, encode, route
>>> events = list(generate(registry, seed=1, start=start, duration=timedelta(hours=1)))
>>> topic, key = route(events[0], settings); value = encode(events[0])
"""

from streams.simulate.alliance import generate
from streams.simulate.scale import scale_registry
from streams.simulate.scenarios import SCENARIOS
from streams.simulate.wire import encode, route

__all__ = ["SCENARIOS", "encode", "generate", "route", "scale_registry"]
