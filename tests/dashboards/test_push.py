"""`medalliance dashboards push` against a local stand-in for Grafana's HTTP API.

No Grafana server can be installed here. The stand-in (http.server on a free loopback port) keeps
dashboards, folders and alert rules in memory and answers as Grafana's documented HTTP API does:
/api/health, /api/folders, /api/dashboards/db, /api/v1/provisioning/alert-rules and rule-groups. It
refuses what Grafana would refuse (no Bearer token, missing fields, wrong types) with Grafana's status
codes, so a push that drifts from the API fails here.
"""

from __future__ import annotations

import copy
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import yaml

from dashboards.push import PushError, PushTarget, push
from streams.broker import free_port
from streams.cli import main
from tests.support.stack import PROJECT_ROOT

TOKEN = "glsa_test_token"
ALERTING_FILE = PROJECT_ROOT / "deploy/grafana/provisioning/alerting/medalliance-alerts.yml"
DASHBOARDS_DIR = PROJECT_ROOT / "dashboards/generated"
RULE_FIELDS = {"title": str, "condition": str, "data": list, "folderUID": str, "ruleGroup": str, "for": str}
QUERY_FIELDS = {"refId": str, "datasourceUid": str, "model": dict, "relativeTimeRange": dict}


class Grafana(ThreadingHTTPServer):
    """In-memory Grafana: state plus a log of (method, path, authorization, body)."""

    def __init__(self, version: str = "11.6.0", *, new_group_interval: int = 60) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.version = version
        self.new_group_interval = new_group_interval
        self.folders: dict[str, dict[str, Any]] = {}
        self.dashboards: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, dict[str, Any]] = {}
        self.groups: dict[tuple[str, str], int] = {}
        self.log: list[tuple[str, str, str | None, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def state(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "folders": self.folders,
                "dashboards": self.dashboards,
                "rules": self.rules,
                "groups": self.groups,
            }
        )

    def writes(self) -> list[tuple[str, str]]:
        return [(method, path) for method, path, _, _ in self.log if method in ("POST", "PUT", "DELETE")]


class _Handler(BaseHTTPRequestHandler):
    server: Grafana

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        with self.server.lock:
            self.server.log.append((method, self.path, self.headers.get("Authorization"), body))
            status, answer = self._route(method, body)
        payload = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _route(self, method: str, body: Any) -> tuple[int, Any]:
        path = self.path.split("?")[0]
        if (method, path) == ("GET", "/api/health"):  # unauthenticated, as in Grafana
            return 200, {"commit": "0000000", "database": "ok", "version": self.server.version}
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {"message": "invalid API key"}
        if method in ("POST", "PUT") and not self.headers.get("Content-Type", "").startswith(
            "application/json"
        ):
            return 415, {"message": "Content-Type must be application/json"}
        for pattern, handler in _ROUTES:
            match = re.fullmatch(pattern, f"{method} {path}")
            if match:
                return handler(self.server, body, *match.groups())
        return 404, {"message": "Not found"}


def _get_folder(grafana: Grafana, _: Any, uid: str) -> tuple[int, Any]:
    folder = grafana.folders.get(uid)
    return (200, folder) if folder else (404, {"message": "folder not found"})


def _create_folder(grafana: Grafana, body: Any) -> tuple[int, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("title"), str):
        return 400, {"message": "bad request data"}
    uid = body.get("uid") or "generated"
    if uid in grafana.folders:
        return 409, {"message": "a folder with the same uid already exists"}
    grafana.folders[uid] = {"id": len(grafana.folders) + 1, "uid": uid, "title": body["title"]}
    return 200, grafana.folders[uid]


def _save_dashboard(grafana: Grafana, body: Any) -> tuple[int, Any]:
    dashboard = body.get("dashboard") if isinstance(body, dict) else None
    if not isinstance(dashboard, dict) or not isinstance(dashboard.get("title"), str):
        return 400, {"message": "Dashboard title cannot be empty"}
    uid, folder = str(dashboard.get("uid")), body.get("folderUid")
    if folder is not None and folder not in grafana.folders:
        return 400, {"message": "folder not found"}
    if uid in grafana.dashboards and body.get("overwrite") is not True:
        return 412, {"message": "A dashboard with the same uid already exists", "status": "name-exists"}
    version = grafana.dashboards.get(uid, {}).get("version", 0) + 1
    grafana.dashboards[uid] = {"dashboard": dashboard, "folderUid": folder, "version": version}
    return 200, {"id": 1, "uid": uid, "url": f"/d/{uid}", "status": "success", "version": version}


def _check_rule(grafana: Grafana, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be an object"
    for field, kind in RULE_FIELDS.items():
        if not isinstance(body.get(field), kind):
            return f"invalid rule: {field} missing or not {kind.__name__}"
    for query in body["data"]:
        for field, kind in QUERY_FIELDS.items():
            if not isinstance(query.get(field), kind):
                return f"invalid query {query.get('refId')}: {field}"
    if body["folderUID"] not in grafana.folders:
        return "folder does not exist"
    return None


def _get_rule(grafana: Grafana, _: Any, uid: str) -> tuple[int, Any]:
    rule = grafana.rules.get(uid)
    return (200, rule) if rule else (404, {"message": "rule not found"})


def _create_rule(grafana: Grafana, body: Any) -> tuple[int, Any]:
    if error := _check_rule(grafana, body):
        return 400, {"message": error}
    if body.get("uid") in grafana.rules:
        return 409, {"message": "rule with this uid already exists"}
    grafana.rules[body["uid"]] = {**body, "provenance": "api"}
    grafana.groups.setdefault((body["folderUID"], body["ruleGroup"]), grafana.new_group_interval)
    return 201, grafana.rules[body["uid"]]


def _update_rule(grafana: Grafana, body: Any, uid: str) -> tuple[int, Any]:
    if uid not in grafana.rules:
        return 404, {"message": "rule not found"}
    if error := _check_rule(grafana, body):
        return 400, {"message": error}
    grafana.rules[uid] = {**body, "uid": uid, "provenance": "api"}
    return 200, grafana.rules[uid]


def _group_rules(grafana: Grafana, folder: str, group: str) -> list[dict[str, Any]]:
    return [r for r in grafana.rules.values() if (r["folderUID"], r["ruleGroup"]) == (folder, group)]


def _get_group(grafana: Grafana, _: Any, folder: str, group: str) -> tuple[int, Any]:
    if (folder, group) not in grafana.groups:
        return 404, {"message": "rule group not found"}
    rules = _group_rules(grafana, folder, group)
    return 200, {
        "title": group,
        "folderUid": folder,
        "interval": grafana.groups[(folder, group)],
        "rules": rules,
    }


def _put_group(grafana: Grafana, body: Any, folder: str, group: str) -> tuple[int, Any]:
    if not isinstance(body, dict) or not isinstance(body.get("interval"), int) or body["interval"] <= 0:
        return 400, {"message": "interval must be a positive number of seconds"}
    if not isinstance(body.get("rules"), list):
        return 400, {"message": "rules must be a list"}
    for rule in body["rules"]:
        if error := _check_rule(grafana, rule):
            return 400, {"message": error}
        grafana.rules[rule["uid"]] = rule
    grafana.groups[(folder, group)] = body["interval"]
    return 200, body


_ROUTES = (
    (r"GET /api/folders/([^/]+)", _get_folder),
    (r"POST /api/folders", _create_folder),
    (r"POST /api/dashboards/db", _save_dashboard),
    (r"GET /api/v1/provisioning/alert-rules/([^/]+)", _get_rule),
    (r"POST /api/v1/provisioning/alert-rules", _create_rule),
    (r"PUT /api/v1/provisioning/alert-rules/([^/]+)", _update_rule),
    (r"GET /api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", _get_group),
    (r"PUT /api/v1/provisioning/folder/([^/]+)/rule-groups/([^/]+)", _put_group),
)


def serve(grafana: Grafana) -> Iterator[Grafana]:
    thread = threading.Thread(target=grafana.serve_forever, daemon=True)
    thread.start()
    try:
        yield grafana
    finally:
        grafana.shutdown()
        grafana.server_close()


@pytest.fixture
def grafana() -> Iterator[Grafana]:
    yield from serve(Grafana())


def expected_rules() -> dict[str, tuple[str, str]]:
    """uid -> (title, group) straight from the provisioning file, the source of what must be pushed."""
    document = yaml.safe_load(ALERTING_FILE.read_text(encoding="utf-8"))
    return {
        rule["uid"]: (rule["title"], group["name"]) for group in document["groups"] for rule in group["rules"]
    }


def expected_dashboards() -> dict[str, str]:
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))["title"]
        for path in DASHBOARDS_DIR.glob("*.json")
    }


def test_push_saves_dashboards_folder_and_rules_as_grafana_documents(grafana: Grafana) -> None:
    summary = push(PushTarget(grafana.url, TOKEN), root=PROJECT_ROOT, folder="MedAlliance wall")

    assert grafana.folders == {
        "medalliance-wall": {"id": 1, "uid": "medalliance-wall", "title": "MedAlliance wall"}
    }
    dashboards = expected_dashboards()
    assert len(dashboards) == 5
    assert {uid: saved["dashboard"]["title"] for uid, saved in grafana.dashboards.items()} == dashboards
    for saved in grafana.dashboards.values():
        assert saved["folderUid"] == "medalliance-wall" and saved["dashboard"]["id"] is None
    rules = expected_rules()
    assert {uid: (r["title"], r["ruleGroup"]) for uid, r in grafana.rules.items()} == rules
    assert {r["folderUID"] for r in grafana.rules.values()} == {"medalliance-wall"}
    assert (summary.dashboards, summary.rules_created, summary.rules_updated) == (5, len(rules), 0)
    assert summary.grafana_version == "11.6.0" and summary.folder_created
    for method, path, authorization, _ in grafana.log:
        assert path == "/api/health" or authorization == f"Bearer {TOKEN}", (method, path)
    posts = [
        (path, body) for method, path, _, body in grafana.log if method == "POST" and "dashboards" in path
    ]
    assert all(body["overwrite"] is True for _, body in posts) and len(posts) == 5


def test_push_twice_changes_nothing_more(grafana: Grafana) -> None:
    target = PushTarget(grafana.url, TOKEN)
    push(target, root=PROJECT_ROOT)
    first = grafana.state()
    grafana.log.clear()
    summary = push(target, root=PROJECT_ROOT)
    second = grafana.state()
    for saved in (*first["dashboards"].values(), *second["dashboards"].values()):
        saved.pop("version")
    assert second == first
    assert not summary.folder_created and summary.rules_created == 0
    assert summary.rules_updated == len(expected_rules())
    assert ("POST", "/api/folders") not in grafana.writes()
    assert not [w for w in grafana.writes() if w == ("POST", "/api/v1/provisioning/alert-rules")]


def test_push_sets_the_rule_group_interval_from_the_file() -> None:
    for grafana in serve(Grafana(new_group_interval=10)):
        push(PushTarget(grafana.url, TOKEN), root=PROJECT_ROOT)
        document = yaml.safe_load(ALERTING_FILE.read_text(encoding="utf-8"))
        intervals = {("medalliance", g["name"]): g["interval"] for g in document["groups"]}
        assert {key: f"{seconds // 60}m" for key, seconds in grafana.groups.items()} == intervals
        assert len(grafana.rules) == len(expected_rules())


def test_bad_token_is_one_line(grafana: Grafana, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(PushError, match=r"refused the token \(401\)"):
        push(PushTarget(grafana.url, "wrong"), root=PROJECT_ROOT)
    assert grafana.dashboards == {} and grafana.rules == {}
    status = main(["dashboards", "push", "--url", grafana.url, "--token", "wrong"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and "401" in err and "Traceback" not in err


def test_unreachable_server_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    status = main(["dashboards", "push", "--url", url, "--token", TOKEN])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1 and f"cannot reach Grafana at {url}" in err


@pytest.mark.parametrize("version", ["10.4.2", "9.5.0"])
def test_grafana_older_than_11_is_refused_before_any_write(
    version: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for grafana in serve(Grafana(version=version)):
        status = main(["dashboards", "push", "--url", grafana.url, "--token", TOKEN])
        err = capsys.readouterr().err
        assert status == 2 and err.count("\n") == 1 and f"Grafana {version}" in err and "11 or newer" in err
        assert grafana.writes() == []


def test_cli_reports_what_it_pushed(grafana: Grafana, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboards", "push", "--url", grafana.url + "/", "--token", TOKEN]) == 0
    out = capsys.readouterr().out
    assert f"pushed 5 dashboards and {len(expected_rules())} alert rules" in out and "11.6.0" in out
