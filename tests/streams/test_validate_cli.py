"""`medalliance validate`, `schemas export` and `simulate --out` from the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from schemas.jsonschema import generated_files
from streams.cli import main
from tests.schemas.examples import NOW, VALID

NOW_ARG = ["--now", NOW.isoformat()]


def _write(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def test_valid_file_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "ok.ndjson", [orjson.dumps(e) for e in VALID.values()])
    assert main(["validate", str(path), *NOW_ARG]) == 0
    assert f"{len(VALID)} events, {len(VALID)} valid, 0 bad" in capsys.readouterr().out


def test_bad_lines_are_listed_with_number_reason_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [
        orjson.dumps(VALID["bed.admit"]),
        b"{oops",
        b"",  # blank lines are skipped, but still counted in line numbers
        orjson.dumps({**VALID["bed.admit"], "event_id": "a2", "ward_id": "nope"}),
        orjson.dumps({**VALID["ed.triage"], "event_id": "t2", "level": 9}),
        orjson.dumps({**VALID["bed.admit"], "source": "resent"}),  # same event_id: a warning
    ]
    path = _write(tmp_path / "mixed.ndjson", lines)
    assert main(["validate", str(path), *NOW_ARG]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "line 2: invalid_json: " + out[0].split(": ", 2)[2]
    assert out[1] == "line 4: unknown_ward: ward_id 'nope' is not a ward of yx-ch-people"
    assert out[2].startswith("line 5: schema_violation: level")
    assert out[3] == "line 6: warning: duplicate event_id of line 1 (ignored by the service)"
    assert out[4].endswith("5 events, 1 valid, 3 bad, 1 duplicate warnings")


def test_duplicates_alone_do_not_fail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "dupes.ndjson", [orjson.dumps(VALID["bed.admit"])] * 3)
    assert main(["validate", str(path), *NOW_ARG]) == 0
    assert "2 duplicate warnings" in capsys.readouterr().out


def test_forced_feed_makes_other_types_unknown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(
        tmp_path / "beds.ndjson", [orjson.dumps(VALID["bed.census"]), orjson.dumps(VALID["ed.arrival"])]
    )
    assert main(["validate", str(path), "--feed-from-type", *NOW_ARG]) == 0
    assert main(["validate", str(path), "--feed", "beds", *NOW_ARG]) == 1
    assert "line 2: unknown_type: type 'ed.arrival' belongs to the visits feed" in capsys.readouterr().out


def test_clock_comes_from_now(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "old.ndjson", [orjson.dumps(VALID["bed.admit"])])
    later = (NOW + timedelta(days=8)).isoformat()
    assert main(["validate", str(path), "--now", later]) == 1
    assert "line 1: too_old" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "/nonexistent/x.ndjson"],
        ["validate", "x.ndjson", "--now", "yesterday"],
        ["simulate", "--duration", "forever", "--out", "x.ndjson"],
        ["simulate", "--speed", "0"],
        ["simulate", "--start", "2026-11-22T00:00:00+08:00"],  # live mode takes no --start
    ],
)
def test_user_errors_are_one_line_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("medalliance: error: ")


def test_bad_flag_is_one_line_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from streams.cli import main; main()", "validate", "--bogus"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_schemas_export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schemas", "export", str(tmp_path / "out")]) == 0
    files = generated_files()
    written = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    assert written == {path.name: text for path, text in files.items()}
    assert json.loads(written["event.schema.json"])["oneOf"]


def test_simulate_out_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "sim.ndjson"
    # A morning in Yangxi (10:00 +08:00, yesterday): traffic does not depend on when the suite runs.
    start = (
        (datetime.now(UTC) - timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0).isoformat()
    )
    assert main(["simulate", "--out", str(out), "--duration", "20m", "--start", start, "--seed", "4"]) == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) > 1000
    assert main(["validate", str(out)]) == 0
    assert f"{len(lines)} events, {len(lines)} valid, 0 bad" in capsys.readouterr().out


def test_simulate_registry_out(tmp_path: Path) -> None:
    from schemas.registry import load_registry

    registry_out = tmp_path / "province.yaml"
    start = "2026-11-22T00:00:00+08:00"
    assert (
        main(
            [
                "simulate",
                "--scale",
                "2",
                "--registry-out",
                str(registry_out),
                "--out",
                str(tmp_path / "x.ndjson"),
                "--duration",
                "1m",
                "--start",
                start,
            ]
        )
        == 0
    )
    assert len(load_registry(registry_out).facilities) == 2 * 136
