"""promtool tests of the recording rules others rely on: occupancy, bed runway, escalation levels.

Expected levels come from the written policy (docs/escalation.md) applied in plain Python.
"""

from __future__ import annotations

from pathlib import Path

from schemas import metrics as c
from schemas.registry import Registry
from tests.dashboards.alert_series import info, run_promtool, series

N = 10
EVAL = "5m"


def policy_level(value: float, level_2: float, level_3: float, above_for_4: float) -> int:
    """docs/escalation.md: level 2 from the first threshold, 3 from the second, 4 above the third."""
    return 1 + (value >= level_2) + (value >= level_3) + (value > above_for_4)


def requests_level(due_soon: int, overdue: int) -> int:
    return max(1, 2 if due_soon else 1, 3 if overdue else 1, 4 if overdue >= 3 else 1)


def test_escalation_levels_per_hospital_and_alliance(tmp_path: Path, registry: Registry) -> None:
    people, tcm, mch = (registry.facility(f) for f in ("yx-ch-people", "yx-ch-tcm", "yx-ch-mch"))
    town = registry.facility("yx-thc-zhigong")
    # (staffed, occupied) of one ward (0: no census yet), ED patients, ED beds, requests due soon, overdue
    data = {
        people.id: (100, 92, 10, 20, 0, 0),
        tcm.id: (100, 80, 22, 20, 0, 3),
        mch.id: (0, 0, 0, 0, 1, 0),
    }
    inputs = [info(f) for f in (people, tcm, mch, town)]
    inputs.append(series(c.BEDS_STAFFED, {"facility": town.id, "ward": "w"}, [50] * N))
    inputs.append(series(c.BEDS_OCCUPIED, {"facility": town.id, "ward": "w"}, [50] * N))
    expected_levels = {}
    for facility, (staffed, occupied, ed, ed_beds, due, overdue) in data.items():
        if staffed:
            inputs.append(series(c.BEDS_STAFFED, {"facility": facility, "ward": "w"}, [staffed] * N))
            inputs.append(series(c.BEDS_OCCUPIED, {"facility": facility, "ward": "w"}, [occupied] * N))
        if ed_beds:
            inputs.append(series(c.ED_BEDS, {"facility": facility}, [ed_beds] * N))
            inputs.append(series(c.ED_PATIENTS, {"facility": facility, "triage_level": "3"}, [ed] * N))
        request = {"category": "stroke", "stage": "accepted", "to_facility": facility}
        inputs.append(series(c.REQUESTS_DUE_SOON, request, [due] * N))
        inputs.append(series(c.REQUESTS_OVERDUE, request, [overdue] * N))
        occupancy = policy_level(occupied / staffed, 0.85, 0.90, 1.0) if staffed else 1
        ed_level = policy_level(ed / ed_beds, 0.80, 1.0, 1.2) if ed_beds else 1
        expected_levels[facility] = max(occupancy, ed_level, requests_level(due, overdue))
    assert expected_levels == {people.id: 3, tcm.id: 4, mch.id: 2}  # the case is the one intended
    staffed_total, occupied_total = 100 + 100 + 50, 92 + 80 + 50
    county = policy_level(occupied_total / staffed_total, 0.85, 0.90, 1.0)
    levels = sorted(expected_levels.values(), reverse=True)
    shared = max(level for level in (1, *levels) if sum(other >= level for other in levels) >= 2)
    alliance = max(county, shared)
    tests = [
        {
            "expr": "medalliance:escalation_level:facility",
            "eval_time": EVAL,
            "exp_samples": [
                {"labels": f'medalliance:escalation_level:facility{{facility="{f}"}}', "value": v}
                for f, v in expected_levels.items()
            ],
        },
        {
            "expr": "medalliance:escalation_level:alliance",
            "eval_time": EVAL,
            "exp_samples": [{"labels": "medalliance:escalation_level:alliance", "value": alliance}],
        },
        {
            "expr": "medalliance:occupancy_ratio:county",
            "eval_time": EVAL,
            "exp_samples": [
                {"labels": "medalliance:occupancy_ratio:county", "value": occupied_total / staffed_total}
            ],
        },
        # Flat occupancy: no runway (absent, not a number of hours).
        {"expr": "medalliance:bed_runway_hours:county", "eval_time": EVAL, "exp_samples": []},
    ]
    result = run_promtool(tmp_path, [{"interval": "1m", "input_series": inputs, "promql_expr_test": tests}])
    assert result.returncode == 0, result.stdout + result.stderr
    assert alliance == 3
