"""What an alert and a recording rule are, independent of the evaluator that runs them.

>>> rule = RecordingRule("medalliance:occupancy_ratio:county", "sum(a) / sum(b)")
>>> alert.labels()["severity"]             # 'page' or 'ticket'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["page", "ticket"]
Urgency = Literal["critical", "warning"]
SERVICE: Final = "medalliance"
# Where runbooks live. A site publishing its docs elsewhere changes this one line and regenerates.
RUNBOOK_BASE: Final = "docs/runbooks"


@dataclass(frozen=True, slots=True)
class RecordingRule:
    record: str
    expr: str
    # Static labels set by the rule: several rules may record one name with different labels.
    labels: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Bilingual:
    """One message in Chinese (first, the wall's language) and English; Go templates allowed."""

    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: its condition, how long it must hold, who gets it and what it says.

    `severity` routes (page: a person now; ticket: the queue worked in office hours);
    `urgency` ranks (a warning is inhibited while the critical alert named in `inhibited_by`
    fires with the same `inhibit_equal` labels).
    """

    name: str
    expr: str
    for_: str
    severity: Severity
    urgency: Urgency
    summary: Bilingual
    description: Bilingual
    inhibited_by: tuple[str, ...] = ()
    inhibit_equal: tuple[str, ...] = ()

    @property
    def runbook_url(self) -> str:
        return f"{RUNBOOK_BASE}/{self.name}.md"

    def labels(self) -> dict[str, str]:
        return {"severity": self.severity, "urgency": self.urgency, "service": SERVICE}

    def annotations(self) -> dict[str, str]:
        return {
            "summary": self.summary.en,
            "summary_zh": self.summary.zh,
            "description": self.description.en,
            "description_zh": self.description.zh,
            "runbook_url": self.runbook_url,
        }
