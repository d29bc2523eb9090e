"""The policy file: the shipped numbers are DOMAIN.md's, a bad file is refused, the hash fingerprints it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from schemas.policy import SHIPPED_POLICY, PolicyError, load_policy, shipped_policy


def _write(tmp_path: Path, edit: dict[str, dict[str, object]]) -> Path:
    data = yaml.safe_load(SHIPPED_POLICY.read_text(encoding="utf-8"))
    for part, values in edit.items():
        data[part].update(values)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_the_shipped_policy_holds_domain_md_numbers() -> None:
    policy = shipped_policy()
    # DOMAIN.md: accept <= 10 min; arrive <= 60 min (chest pain, stroke, trauma), <= 90 (maternal, neonatal).
    assert policy.requests.standard_seconds("trauma", "accepted") == 600
    assert policy.requests.standard_seconds("stroke", "arrived") == 3600
    assert policy.requests.standard_seconds("critical_maternal", "arrived") == 5400
    assert policy.occupancy.display.values() == (0.85, 0.90, 1.00)
    assert policy.emergency.lwbs_ratio == 0.05 and policy.emergency.long_stay_hours == 4
    assert policy.feeds.stale_seconds == {
        "county_hospital": 300,
        "town_health_center": 300,
        "village_clinic": 300,
    }


def test_equal_policies_hash_alike_and_any_change_moves_the_hash(tmp_path: Path) -> None:
    same = load_policy(_write(tmp_path, {}))
    assert same.hash == shipped_policy().hash and len(same.hash) == 12
    changed = load_policy(_write(tmp_path, {"requests": {"due_soon_share": 0.7}}))
    assert changed.hash != shipped_policy().hash


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        ({"occupancy": {"display": {"low": 0.95, "mid": 0.9, "high": 1.0}}}, "occupancy.display"),
        ({"requests": {"accept_minutes": {"stroke": 10}}}, "requests"),
        ({"feeds": {"stale_seconds": {"county_hospital": 300}}}, "feeds"),
        ({"pipeline": {"delay_seconds": 0}}, "pipeline.delay_seconds"),
        ({"emergency": {"no_such_threshold": 1}}, "emergency.no_such_threshold"),
    ],
)
def test_a_bad_policy_is_one_line_naming_the_field(
    tmp_path: Path, edit: dict[str, dict[str, object]], where: str
) -> None:
    with pytest.raises(PolicyError) as error:
        load_policy(_write(tmp_path, edit))
    assert where in str(error.value) and "\n" not in str(error.value)


def test_a_file_that_is_not_yaml_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("occupancy: [unclosed\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="is not valid YAML") as error:
        load_policy(path)
    assert "\n" not in str(error.value)


def _interval(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {"id": "x", "category": "chest_pain", "basis": "site", "start": "door",
                               "end": "wire_crossed", "minutes": 90}  # fmt: skip
    return {**base, **changes}


def test_the_shipped_center_standards_are_the_cited_numbers() -> None:
    # docs/centers.md: D2B <= 90 min for >= 75% of primary-PCI STEMI; FMC -> ECG < 10 min for >= 75%;
    # stroke door -> needle <= 60 min, onset -> needle <= 4.5 h; bypass >= 30% / >= 50%.
    centers = {standard.id: standard for standard in shipped_policy().centers.intervals}
    d2b = centers["door_to_wire"]
    assert (d2b.start, d2b.end, d2b.minutes, d2b.target) == ("door", "wire_crossed", 90, 0.75)
    assert d2b.when.diagnosis == ("stemi",) and d2b.when.strategy == ("primary_pci",)
    assert (centers["fmc_to_ecg"].minutes, centers["fmc_to_ecg"].target) == (10, 0.75)
    assert centers["onset_to_needle"].minutes == 270 and centers["door_to_needle"].minutes == 60
    assert centers["trauma_door_to_ct"].basis == "site"
    bypass = {rule.id: rule.target for rule in shipped_policy().centers.bypass}
    assert bypass == {"stemi_ems_bypass": 0.30, "stemi_walk_in_bypass": 0.50}


@pytest.mark.parametrize(
    ("interval", "says"),
    [
        # wire_crossed is a chest-pain milestone
        (_interval(category="stroke"), "not an interval of the stroke center"),
        (_interval(end="door"), "not an interval"),
        (_interval(when={"diagnosis": ["ischemic_stroke"]}), "ischemic_stroke is not of the chest_pain"),
        (_interval(id="Door To Wire"), "centers.intervals"),
        (_interval(target=1.5), "target"),
    ],
)
def test_a_center_standard_of_the_wrong_center_is_refused(
    tmp_path: Path, interval: dict[str, object], says: str
) -> None:
    with pytest.raises(PolicyError) as error:
        load_policy(_write(tmp_path, {"centers": {"intervals": [interval]}}))
    assert says in str(error.value)


def test_standard_ids_are_unique(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="unique: x"):
        load_policy(_write(tmp_path, {"centers": {"intervals": [_interval(), _interval(minutes=60)]}}))
