import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.minimal.settings")
app = Celery("minimal")
app.config_from_object("django.conf:settings", namespace="CELERY")


@app.task(name="minimal.turn", queue="chat")
def turn(message_id: int) -> None:
    from bench.minimal.models import Msg

    message = Msg.objects.get(pk=message_id)  # one select
    Msg.objects.create(conversation=message.conversation, text="echo: " + message.text, reply_to=message)  # one insert
