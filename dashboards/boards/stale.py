"""Numbers that cannot look current when their feed is stale.

    >>> from dashboards.boards.layout import Title, stat_panel
    >>> from dashboards.boards.queries import data_age, stale_facilities
    >>> expr, stale = "medalliance:occupancy_ratio:facility", stale_facilities(("beds",))
    >>> panel = stat_panel(Title("床位使用率", "Occupancy"), split_targets(expr, stale, legend="{{name}}"))
    >>> panel = mark_stale(panel, age=data_age(("beds",), shipped_policy()))

Each figure is queried twice: `A` keeps the series whose feeds are current (coloured by the
thresholds), `B` the series whose feeds are stale (always grey, legend suffixed '⚠ 停更 stale').
A county-wide figure also shows `C`, the age of its oldest contributing feed, red past the threshold,
so the wall says how old a number may be, not only that it is old.
"""

from __future__ import annotations

from typing import Final, TypeVar

from grafana_foundation_sdk.builders import prometheus

from dashboards.boards.layout import STALE_LEGEND, age_properties, query, stale_properties
from dashboards.boards.queries import DataAge, fresh_part, stale_part

FRESH_REF: Final = "A"
STALE_REF: Final = "B"
AGE_REF: Final = "C"
AGE_LEGEND: Final = "数据龄 data age"

PanelT = TypeVar("PanelT")


def split_targets(expr: str, stale: str, *, legend: str, on: str = "facility") -> list[prometheus.Dataquery]:
    """Targets A (fresh part of `expr`) and B (stale part), joined on `on` (`""` for county-wide)."""
    return [
        query(fresh_part(expr, stale, on=on), FRESH_REF, legend=legend, instant=True),
        query(stale_part(expr, stale, on=on), STALE_REF, legend=legend + STALE_LEGEND, instant=True),
    ]


def mark_stale(panel: PanelT, *, age: DataAge | None = None) -> PanelT:
    """Grey the stale target; add the data-age target when `age` is given."""
    marked = panel.override_by_query(STALE_REF, stale_properties())  # type: ignore[attr-defined]
    if age is not None:
        target = query(age.expr, AGE_REF, legend=AGE_LEGEND, instant=True)
        marked = marked.with_target(target).override_by_query(AGE_REF, age_properties(age.stale_after))
    return marked  # type: ignore[no-any-return]
