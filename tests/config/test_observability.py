"""Task Badger tracks the long tasks by name: every name it is given must be a registered task."""

from django.conf import settings

from config.celery import app


def test_taskbadger_tracks_only_registered_long_tasks():
    app.loader.import_default_modules()

    missing = [name for name in settings.TASKBADGER_TRACKED_TASKS if name not in app.tasks]

    assert not missing
    assert "tenant_apps.conversations.tasks.turn_process_task" not in settings.TASKBADGER_TRACKED_TASKS
