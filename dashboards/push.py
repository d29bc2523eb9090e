"""Publish the dashboards and the Grafana alert rules to a running Grafana over its HTTP API.

    >>> summary = push(PushTarget("http://grafana:3000", token), root=project_root(), folder="medalliance")
    >>> summary.dashboards, summary.rules_created + summary.rules_updated
    (4, 46)

Uses grafana-client (maintained; the design card's grafana-api is archived since 2020). Idempotent:
dashboards are saved by uid with `overwrite`, the folder is created only when missing, each alert rule
is created (POST) when its uid is unknown and replaced (PUT) otherwise. Errors a user can cause become
one `PushError` line: bad token (401), unreachable server, Grafana older than 11.

    PushError
    ├── bad token / forbidden        (HTTP 401 / 403)
    ├── unreachable                   (connection refused, DNS, timeout)
    ├── unsupported version           (/api/health version < 11)
    └── rejected request              (any other 4xx/5xx, with Grafana's message)
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from grafana_client import GrafanaApi
from grafana_client.client import (
    GrafanaClientError,
    GrafanaException,
    GrafanaTimeoutError,
    GrafanaUnauthorizedError,
)

from dashboards.boards import GENERATED

logger = logging.getLogger(__name__)

MIN_GRAFANA_MAJOR: Final = 11  # the dashboards' schemaVersion 41 and the provisioning API shapes
ALERTING_DIR: Final = Path("deploy/grafana/provisioning/alerting")
DEFAULT_FOLDER: Final = "medalliance"
TIMEOUT_SECONDS: Final = 10.0
HTTP_NOT_FOUND: Final = 404
HTTP_FORBIDDEN: Final = 403
_DURATION = re.compile(r"^(\d+)([smh])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600}


class PushError(Exception):
    """A push that cannot go on, as one line for the user."""


@dataclass(frozen=True, slots=True)
class PushTarget:
    url: str
    token: str


@dataclass(frozen=True, slots=True)
class PushSummary:
    grafana_version: str
    folder_uid: str
    folder_created: bool
    dashboards: int
    rules_created: int
    rules_updated: int


def folder_uid(name: str) -> str:
    """A folder uid derived from its name ('MedAlliance wall' -> 'medalliance-wall'), stable across pushes."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:40] or DEFAULT_FOLDER


@contextmanager
def _user_errors(target: PushTarget, action: str) -> Iterator[None]:
    """Turn grafana-client and connection errors into one readable PushError line."""
    try:
        yield
    except GrafanaUnauthorizedError as exc:
        raise PushError(f"Grafana at {target.url} refused the token (401): check --token") from exc
    except GrafanaClientError as exc:
        if exc.status_code == HTTP_FORBIDDEN:
            raise PushError(
                f"the token may not {action} at {target.url} (403): use an Editor or Admin token"
            ) from exc
        raise PushError(f"Grafana at {target.url} rejected {action}: {exc.message}") from exc
    # grafana-client lets its HTTP library's connection errors through; they are OSErrors.
    except (GrafanaTimeoutError, OSError) as exc:
        raise PushError(f"cannot reach Grafana at {target.url}: is it running and is --url right?") from exc
    except GrafanaException as exc:
        raise PushError(f"Grafana at {target.url} failed to {action}: {exc.message}") from exc


def connect(target: PushTarget) -> GrafanaApi:
    return GrafanaApi.from_url(target.url.rstrip("/"), credential=target.token, timeout=TIMEOUT_SECONDS)


def check_version(api: GrafanaApi, target: PushTarget) -> str:
    """Grafana's version from GET /api/health; PushError below MIN_GRAFANA_MAJOR."""
    with _user_errors(target, "report its health"):
        health = api.client.GET("/health")
    version = str(health.get("version", "")) if isinstance(health, dict) else ""
    major = re.match(r"^v?(\d+)\.", version)
    if major is None:
        raise PushError(f"Grafana at {target.url} did not report its version on /api/health")
    if int(major.group(1)) < MIN_GRAFANA_MAJOR:
        raise PushError(
            f"Grafana {version} at {target.url} is too old: "
            f"the dashboards need Grafana {MIN_GRAFANA_MAJOR} or newer"
        )
    return version


def ensure_folder(api: GrafanaApi, target: PushTarget, name: str) -> tuple[str, bool]:
    """(uid, created): GET /api/folders/:uid, POST /api/folders when it does not exist."""
    uid = folder_uid(name)
    with _user_errors(target, "read folders"):
        try:
            api.folder.get_folder(uid)
            return uid, False
        except GrafanaClientError as exc:
            if exc.status_code != HTTP_NOT_FOUND:
                raise
    with _user_errors(target, "create a folder"):
        api.folder.create_folder(name, uid=uid)
    logger.info("grafana folder created uid=%s", uid)
    return uid, True


def push_dashboards(api: GrafanaApi, target: PushTarget, root: Path, folder: str) -> int:
    """POST /api/dashboards/db for each generated dashboard (built from the site's policy by
    `medalliance generate`, like the rules), by uid, into `folder`, overwriting."""
    models = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((root / GENERATED).glob("*.json"))
    }
    for uid, model in models.items():
        body = {
            "dashboard": {**model, "id": None},
            "folderUid": folder,
            "overwrite": True,
            "message": "medalliance dashboards push",
        }
        with _user_errors(target, f"save dashboard {uid}"):
            api.dashboard.update_dashboard(body)
        logger.info("grafana dashboard saved uid=%s", uid)
    return len(models)


def alert_rules(root: Path, folder: str) -> list[dict[str, Any]]:
    """The rules of deploy/grafana/provisioning/alerting/*.yml in the provisioning API's JSON shape."""
    rules: list[dict[str, Any]] = []
    for path in sorted((root / ALERTING_DIR).glob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for group in document.get("groups") or []:
            rules.extend(_api_rule(rule, group, folder) for rule in group.get("rules") or [])
    return rules


def _api_rule(rule: dict[str, Any], group: dict[str, Any], folder: str) -> dict[str, Any]:
    """File-provisioning rule -> ProvisionedAlertRule: add folderUID, ruleGroup, orgID; time ranges."""
    data = [{"relativeTimeRange": {"from": 0, "to": 0}, **query} for query in rule.get("data", [])]
    return {
        **rule,
        "data": data,
        "folderUID": folder,
        "ruleGroup": group["name"],
        "orgID": group.get("orgId", 1),
    }


def group_interval_seconds(group_interval: str) -> int:
    """'1m' -> 60: the rule-group API takes seconds where the file takes a duration."""
    match = _DURATION.match(group_interval)
    if match is None:
        raise PushError(f"alert group interval {group_interval!r} is not a duration like 1m")
    return int(match.group(1)) * _SECONDS[match.group(2)]


def push_rules(api: GrafanaApi, target: PushTarget, rules: list[dict[str, Any]]) -> tuple[int, int]:
    """Create (POST) or replace (PUT) each rule by uid; returns (created, updated)."""
    created = updated = 0
    for rule in rules:
        uid = rule["uid"]
        with _user_errors(target, f"read alert rule {uid}"):
            try:
                api.alertingprovisioning.get_alertrule(uid)
                exists = True
            except GrafanaClientError as exc:
                if exc.status_code != HTTP_NOT_FOUND:
                    raise
                exists = False
        with _user_errors(target, f"save alert rule {uid}"):
            if exists:
                api.alertingprovisioning.update_alertrule(uid, rule)
                updated += 1
            else:
                api.alertingprovisioning.create_alertrule(rule)
                created += 1
    return created, updated


def set_group_intervals(api: GrafanaApi, target: PushTarget, root: Path, folder: str) -> int:
    """PUT each rule group back with the file's interval when Grafana holds another; returns the count."""
    changed = 0
    for path in sorted((root / ALERTING_DIR).glob("*.yml")):
        for group in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("groups") or []:
            wanted = group_interval_seconds(str(group.get("interval", "1m")))
            with _user_errors(target, f"update rule group {group['name']}"):
                current = api.alertingprovisioning.get_rule_group(folder, group["name"])
                if current.get("interval") != wanted:
                    api.alertingprovisioning.update_rule_group(
                        folder, group["name"], {**current, "interval": wanted}
                    )
                    changed += 1
    return changed


def push(target: PushTarget, *, root: Path, folder: str = DEFAULT_FOLDER) -> PushSummary:
    """Check the version, ensure the folder, save every dashboard and alert rule."""
    api = connect(target)
    version = check_version(api, target)
    uid, created = ensure_folder(api, target, folder)
    dashboards = push_dashboards(api, target, root, uid)
    rules_created, rules_updated = push_rules(api, target, alert_rules(root, uid))
    set_group_intervals(api, target, root, uid)
    return PushSummary(version, uid, created, dashboards, rules_created, rules_updated)
