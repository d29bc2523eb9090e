"""Bilingual display names for label values (categories, stages, triage levels, escalation levels).

    >>> CATEGORY_NAMES["chest_pain"]
    '胸痛 chest pain'

Label values stay the contract's English identifiers; the wall shows these names through value
mappings (tables) and rename transformations (series names).
"""

from __future__ import annotations

from typing import Final

from grafana_foundation_sdk.models import dashboard as dm

from dashboards.boards.layout import renames, value_text
from schemas.events import EXTERNAL_FACILITY_LABEL

CATEGORY_NAMES: Final = {
    "chest_pain": "胸痛 chest pain",
    "stroke": "卒中 stroke",
    "trauma": "创伤 trauma",
    "critical_maternal": "危重孕产妇 critical maternal",
    "critical_neonatal": "危重新生儿 critical neonatal",
}
STAGE_NAMES: Final = {
    "submitted": "已提交 submitted",
    "accepted": "已接收 accepted",
    "dispatched": "已派车 dispatched",
    "arrived": "已到院 arrived",
    "completed": "已完成 completed",
}
# What a due/overdue stage means to the person reading the wall: the clock waiting for it.
WAITING_NAMES: Final = {"accepted": "待接收 to accept", "arrived": "待到院 to arrive"}
TRIAGE_NAMES: Final = {
    "1": "1级 濒危 resuscitation",
    "2": "2级 危重 emergent",
    "3": "3级 急症 urgent",
    "4": "4级 非急症 non-urgent",
    "untriaged": "未分诊 untriaged",
}
TRIAGE_COLORS: Final = {"1": "red", "2": "orange", "3": "yellow", "4": "green", "untriaged": "blue"}
KIND_NAMES: Final = {"outpatient": "门诊 outpatient", "emergency": "急诊 emergency"}
# Referral directions (schemas.events.DIRECTIONS) and an outside destination's `facility` label.
DIRECTION_NAMES: Final = {
    "up": "上转 up",
    "down": "下转 down",
    "lateral": "平转 lateral",
    "external": "转外 external",
}
EXTERNAL_NAMES: Final = {
    EXTERNAL_FACILITY_LABEL["in_county"]: "县内医共体外 in county, outside the alliance",
    EXTERNAL_FACILITY_LABEL["out_of_county"]: "县外 out of county",
}
FEED_NAMES: Final = {"beds": "床位 beds", "visits": "门急诊 visits", "requests": "高危申请 requests"}
# OPEL-style escalation levels (docs/escalation.md): what each level means at a glance.
ESCALATION_NAMES: Final = {
    "1": ("1 常态 steady", "green"),
    "2": ("2 中度压力 moderate", "yellow"),
    "3": ("3 严重压力 severe", "orange"),
    "4": ("4 极端压力 extreme", "red"),
}


def exact(names: dict[str, str]) -> dict[str, str]:
    """Whole-name regexes: rename a series called `key`, keeping a ' ⚠ 停更 stale' suffix."""
    return {f"^{key}(\\s.*)?$": f"{text}$1" for key, text in names.items()}


def series_renames(*tables: dict[str, str]) -> list[dm.DataTransformerConfig]:
    """Rename whole series names (legend = the bare label value) through the given tables."""
    merged: dict[str, str] = {}
    for names in tables:
        merged.update(exact(names))
    return renames(merged)


def text_mappings(*tables: dict[str, str]) -> list[dm.ValueMapping]:
    """Value mappings for table cells holding label values (no colour)."""
    merged: dict[str, tuple[str, str]] = {}
    for names in tables:
        merged.update({key: (text, "") for key, text in names.items()})
    return value_text(merged)


def escalation_mappings() -> list[dm.ValueMapping]:
    return value_text(ESCALATION_NAMES)
