"""The five centers' clinical vocabulary: categories, arrival modes, milestones, diagnoses, strategies.

    >>> milestone_problem("stroke", "wire_crossed", None, None)
    "milestone 'wire_crossed' is not one of the stroke center's"

A *case* (docs/contract.md, "Clinical cases") is one patient of one center; its milestones come
from a closed list per center, and a diagnosis or strategy from that center's lists. The lists are
the contract: decode refuses a milestone outside its category's list (`milestone_not_in_category`),
the JSON Schema states the same lists per category, and the policy's standards may only name them.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Category = Literal["chest_pain", "stroke", "trauma", "critical_maternal", "critical_neonatal"]
CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)
# How the patient reached the center: by themselves, by the 120 emergency service, transferred
# from another hospital (then case_id is the request_id), or taken ill while an inpatient.
CaseArrival = Literal["walk_in", "ambulance_120", "transfer", "in_hospital"]
CASE_ARRIVALS: Final[tuple[CaseArrival, ...]] = get_args(CaseArrival)
Milestone = Literal[
    "symptom_onset",
    "last_known_well",
    "first_medical_contact",
    "first_ecg",
    "ecg_transmitted",
    "door_in",
    "door_out",
    "door",
    "ct",
    "diagnosis",
    "reperfusion_strategy",
    "cath_lab_activated",
    "cath_lab_ready",
    "wire_crossed",
    "needle",
    "puncture",
    "recanalization",
    "decision_to_operate",
    "operation",
    "decision_to_deliver",
    "delivery",
    "resuscitation",
    "nicu_admission",
]
Diagnosis = Literal[
    "stemi",
    "nstemi",
    "unstable_angina",
    "aortic_dissection",
    "pulmonary_embolism",
    "non_cardiac",
    "ischemic_stroke",
    "hemorrhagic_stroke",
    "tia",
    "stroke_mimic",
]
Strategy = Literal[
    "primary_pci",
    "thrombolysis",
    "pharmaco_invasive",
    "cabg",
    "conservative",
    "iv_thrombolysis",
    "thrombectomy",
    "bridging",
    "emergency_caesarean",
    "instrumental_delivery",
    "vaginal_delivery",
]
Bypass = Literal["ed", "ccu"]

# Arrival at and departure from a hospital the patient is transferred *from* (入门/出门, door-in
# to door-out), and the door of the case's own center: three milestones, not one with a place,
# so a milestone's meaning never depends on which other events of the case have arrived yet.
_DOORS: Final[tuple[Milestone, ...]] = ("first_medical_contact", "door_in", "door_out", "door")
CENTER_MILESTONES: Final[dict[Category, tuple[Milestone, ...]]] = {
    "chest_pain": (
        "symptom_onset", *_DOORS, "first_ecg", "ecg_transmitted", "diagnosis", "reperfusion_strategy",
        "cath_lab_activated", "cath_lab_ready", "wire_crossed", "needle",
    ),
    "stroke": (
        "last_known_well", *_DOORS, "ct", "diagnosis", "reperfusion_strategy", "needle", "puncture",
        "recanalization",
    ),
    "trauma": (*_DOORS, "ct", "decision_to_operate", "operation"),
    "critical_maternal": (*_DOORS, "decision_to_deliver", "delivery"),
    "critical_neonatal": (*_DOORS, "resuscitation", "nicu_admission"),
}  # fmt: skip
CENTER_DIAGNOSES: Final[dict[Category, tuple[Diagnosis, ...]]] = {
    "chest_pain": (
        "stemi", "nstemi", "unstable_angina", "aortic_dissection", "pulmonary_embolism", "non_cardiac",
    ),
    "stroke": ("ischemic_stroke", "hemorrhagic_stroke", "tia", "stroke_mimic"),
    "trauma": (),
    "critical_maternal": (),
    "critical_neonatal": (),
}  # fmt: skip
CENTER_STRATEGIES: Final[dict[Category, tuple[Strategy, ...]]] = {
    "chest_pain": ("primary_pci", "thrombolysis", "pharmaco_invasive", "cabg", "conservative"),
    "stroke": ("iv_thrombolysis", "thrombectomy", "bridging", "conservative"),
    "trauma": (),
    "critical_maternal": ("emergency_caesarean", "instrumental_delivery", "vaginal_delivery"),
    "critical_neonatal": (),
}
# The milestones that carry a detail, and which: the diagnosis made, the treatment chosen.
DIAGNOSIS_MILESTONE: Final[Milestone] = "diagnosis"
STRATEGY_MILESTONES: Final[tuple[Milestone, ...]] = ("reperfusion_strategy", "decision_to_deliver")


def milestone_problem(
    category: Category, milestone: Milestone, diagnosis: Diagnosis | None, strategy: Strategy | None
) -> str | None:
    """Why a milestone (with its diagnosis or strategy) is not one of its center's, or None."""
    if milestone not in CENTER_MILESTONES[category]:
        return f"milestone {milestone!r} is not one of the {category.replace('_', ' ')} center's"
    if diagnosis is not None and diagnosis not in CENTER_DIAGNOSES[category]:
        return f"diagnosis {diagnosis!r} is not one of the {category.replace('_', ' ')} center's"
    if strategy is not None and strategy not in CENTER_STRATEGIES[category]:
        return f"strategy {strategy!r} is not one of the {category.replace('_', ' ')} center's"
    return None
