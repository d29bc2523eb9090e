"""`medalliance dashboards push --url URL --token TOKEN [--folder NAME]`: publish dashboards and alert rules.

    $ medalliance dashboards push --url http://grafana:3000 --token glsa_...
    pushed 4 dashboards and 46 alert rules (0 new, 46 updated) to Grafana 11.6.0, folder medalliance

Idempotent: run it again after `medalliance generate` to update Grafana. Errors a user can cause
(bad token, unreachable server, Grafana older than 11) are one line and exit status 2.
"""

from __future__ import annotations

import argparse

from dashboards.push import DEFAULT_FOLDER, PushError, PushTarget, push
from streams.cli import UsageError
from streams.commands.generate import project_root


def run_push(args: argparse.Namespace) -> int:
    if not args.url.startswith(("http://", "https://")):
        raise UsageError(f"--url must start with http:// or https://, got {args.url!r}")
    try:
        summary = push(PushTarget(args.url, args.token), root=project_root(), folder=args.folder)
    except PushError as exc:
        raise UsageError(str(exc)) from exc
    rules = summary.rules_created + summary.rules_updated
    print(
        f"pushed {summary.dashboards} dashboards and {rules} alert rules "
        f"({summary.rules_created} new, {summary.rules_updated} updated) "
        f"to Grafana {summary.grafana_version}, folder {summary.folder_uid}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("dashboards", help="publish the Grafana dashboards and alert rules")
    actions = parser.add_subparsers(dest="action", required=True)
    push_parser = actions.add_parser(
        "push", help="save dashboards (by uid) and alert rules to a Grafana over HTTP"
    )
    push_parser.add_argument("--url", required=True, help="Grafana base URL, e.g. http://grafana:3000")
    push_parser.add_argument("--token", required=True, help="service account token (Editor or Admin)")
    push_parser.add_argument(
        "--folder", default=DEFAULT_FOLDER, help=f"folder title (default {DEFAULT_FOLDER})"
    )
    push_parser.set_defaults(handler=run_push)
