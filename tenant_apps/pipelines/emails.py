"""Sending the emails pipelines queue (``send_email`` nodes). ``pipeline_email_send_task`` runs this; the queueing
side is ``services.pipeline_email_enqueue``."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from tenant_apps.pipelines.models import PipelineEmail

logger = logging.getLogger(__name__)


def pipeline_email_send(*, email_id: int) -> PipelineEmail | None:
    """Send a queued email once; a second delivery of the task finds it sent and does nothing.

    On an SMTP error the row stays pending with the error noted and the error propagates, so the task retries.
    """
    try:
        with transaction.atomic():
            email = PipelineEmail.objects.select_for_update().filter(pk=email_id).first()
            if email is None or email.status == PipelineEmail.Status.SENT:
                return email
            send_mail(
                subject=email.subject,
                message=email.body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=list(email.recipients),
                fail_silently=False,
            )
            email.status = PipelineEmail.Status.SENT
            email.sent_at = timezone.now()
            email.error = ""
            email.save(update_fields=["status", "sent_at", "error"])
            return email
    except OSError as exc:  # smtplib errors are OSErrors
        logger.warning("pipeline_email.failed", extra={"email_id": email_id})
        PipelineEmail.objects.filter(pk=email_id).update(error=str(exc)[:500])
        raise
