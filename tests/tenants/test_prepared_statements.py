"""Prepared statements (server-side binding) never leak rows across team schemas on a shared connection."""

from django.db import connection

from tenant_apps.conversations.models import Tag
from tenants.context import tenant_context


def test_the_same_prepared_query_reads_each_teams_own_rows(team_a, team_b):
    assert connection.settings_dict["OPTIONS"].get("server_side_binding") is True
    for team, name in ((team_a, "alpha-tag"), (team_b, "bravo-tag")):
        with tenant_context(team):
            Tag.objects.create(name=name)

    seen = []
    for _ in range(3):  # past the prepare threshold, alternating schemas on one connection
        for team in (team_a, team_b):
            with tenant_context(team):
                seen.append(list(Tag.objects.filter(name__endswith="-tag").values_list("name", flat=True)))

    assert seen == [["alpha-tag"], ["bravo-tag"]] * 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any("conversations_tag" in statement for statement in prepared)  # it was really prepared
