"""The send-email node through a real Celery worker: queued on commit, sent from the pipelines queue."""

from __future__ import annotations

import time

import pytest

from tenant_apps.pipelines import services
from tenant_apps.pipelines.adapters import run_context
from tenant_apps.pipelines.models import Pipeline, PipelineEmail
from tenants.context import tenant_context
from tests.factories.pipelines import chain, node

pytestmark = pytest.mark.worker


def test_email_node_sends_through_a_real_worker(committed, live_worker):
    from tenants.models import Team

    team = Team.objects.get(slug="alpha")
    with tenant_context(team):
        pipeline = Pipeline.objects.create(
            name="mailer",
            graph=chain(node("mail", "send_email", recipient_list="{{ input }}", subject="Hi", body="Body")),
        )
        try:
            result = services.pipeline_run(pipeline=pipeline, context=run_context(input_text="ops@example.org"))
            email = PipelineEmail.objects.get()
            deadline = time.monotonic() + 20
            while email.status != PipelineEmail.Status.SENT and time.monotonic() < deadline:
                time.sleep(0.1)
                email.refresh_from_db()
        finally:
            PipelineEmail.objects.all().delete()
            pipeline.delete()

    assert result.ok
    assert (email.recipients, email.status) == (["ops@example.org"], PipelineEmail.Status.SENT)
