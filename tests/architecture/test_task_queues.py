"""Every task names one of the declared queues (a backlog on one queue must never starve `chat`) and its own name."""

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


def _task_decorators():
    """Every ``@app.task(...)`` in the source tree, as (file, line, keyword names)."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for package in ("config", "tenants", "shared_apps", "tenant_apps"):
        for path in (root / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    for decorator in node.decorator_list:
                        call = decorator if isinstance(decorator, ast.Call) else None
                        if call is not None and ast.unparse(call.func).endswith("app.task"):
                            yield f"{path.relative_to(root)}:{node.lineno}", {k.arg for k in call.keywords}


def test_every_task_has_an_explicit_name():
    """Queued messages and beat entries name tasks by string: a task's name must not change when its module
    moves, so it is written on the decorator (today's names are the dotted paths the tasks had when they were
    given one)."""
    decorators = list(_task_decorators())

    assert decorators, "no tasks found"
    unnamed = [where for where, keywords in decorators if "name" not in keywords]
    assert unnamed == [], f"tasks without an explicit name=: {unnamed}"
