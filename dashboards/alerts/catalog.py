"""The one alert catalog: every alert, for a timing profile and a policy.

    >>> [alert.name for alert in alerts(PRODUCTION, shipped_policy())][:3]
    ['WardOccupancyHigh', 'FacilityOverCapacity', 'CountyBedRunwayShort']

Prometheus rules, Grafana-managed rules and the Alertmanager inhibitions are all rendered from
this list, so they cannot disagree.
"""

from __future__ import annotations

from dashboards.alerts.care import care_alerts
from dashboards.alerts.centers import center_alerts
from dashboards.alerts.model import Alert
from dashboards.alerts.ops import ops_alerts
from dashboards.alerts.profile import Profile
from dashboards.alerts.referrals import referral_alerts
from schemas.policy import Policy


def alerts(profile: Profile, policy: Policy) -> list[Alert]:
    """Every alert, in a stable order; names are unique and inhibitors exist."""
    catalog = [
        *care_alerts(profile, policy),
        *center_alerts(profile, policy),
        *referral_alerts(profile, policy),
        *ops_alerts(profile, policy),
    ]
    names = [alert.name for alert in catalog]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate alert names in {names}")
    for alert in catalog:
        unknown = set(alert.inhibited_by) - set(names)
        if unknown:
            raise ValueError(f"{alert.name} is inhibited by unknown alerts {sorted(unknown)}")
    return catalog
