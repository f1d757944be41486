"""Usage periods as Stripe counts them, and the per-process snapshot following every billing change."""

from datetime import UTC, datetime

import pytest

from shared_apps.billing import services
from shared_apps.billing.snapshot import period_bounds, team_billing


def at(*parts):
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("anchor", "now", "expected"),
    [
        pytest.param(None, at(2026, 2, 14, 10), (at(2026, 2, 1), at(2026, 3, 1)), id="calendar-month"),
        pytest.param(None, at(2026, 12, 31, 23, 59), (at(2026, 12, 1), at(2027, 1, 1)), id="calendar-year-end"),
        pytest.param(at(2026, 1, 15, 8), at(2026, 3, 20), (at(2026, 3, 15, 8), at(2026, 4, 15, 8)), id="anchor"),
        pytest.param(
            at(2026, 1, 15, 8), at(2026, 3, 15, 7), (at(2026, 2, 15, 8), at(2026, 3, 15, 8)), id="before-anchor-time"
        ),
        pytest.param(
            at(2026, 1, 31, 8), at(2026, 2, 28, 9), (at(2026, 2, 28, 8), at(2026, 3, 31, 8)), id="short-month"
        ),
        pytest.param(at(2026, 1, 31, 8), at(2026, 4, 5), (at(2026, 3, 31, 8), at(2026, 4, 30, 8)), id="back-to-31"),
    ],
)
def test_period_bounds(anchor, now, expected):
    assert period_bounds(anchor=anchor, now=now) == expected


def test_the_snapshot_follows_a_plan_change_at_once(team_a, billing_on):
    assert team_billing(team_a.pk).limits.code == "free"

    services.plan_set(team=team_a, plan_code="business")

    assert team_billing(team_a.pk).limits.code == "business"


def test_the_snapshot_is_cached_until_billing_changes(team_a, billing_on, django_assert_num_queries):
    team_billing(team_a.pk)

    with django_assert_num_queries(0):
        team_billing(team_a.pk)
