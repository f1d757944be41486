"""Every task names one of the declared queues (a backlog on one queue must never starve `chat`)."""

from config.celery import Queue, app


def test_every_task_declares_a_known_queue():
    app.loader.import_default_modules()
    tasks = {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}

    assert tasks, "no tasks registered"
    missing = sorted(name for name, task in tasks.items() if getattr(task, "queue", None) not in set(Queue))
    assert missing == [], f"tasks without a declared queue: {missing}"


def test_every_task_runs_on_the_team_aware_base():
    from config.celery import TeamTask

    app.loader.import_default_modules()
    for name, task in app.tasks.items():
        if not name.startswith("celery."):
            assert isinstance(task, TeamTask), f"{name} is not a TeamTask (it would lose the team schema)"


def test_every_beat_entry_names_a_registered_task():
    from django.conf import settings

    app.loader.import_default_modules()
    unknown = sorted(e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] not in app.tasks)
    assert unknown == [], f"beat schedules tasks that do not exist: {unknown}"
