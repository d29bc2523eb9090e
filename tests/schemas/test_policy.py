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
