import json

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from bench.minimal.celery_app import turn
from bench.minimal.models import Msg


@csrf_exempt
def send(request: HttpRequest, conversation: int) -> JsonResponse:
    message = Msg.objects.create(conversation=conversation, text=json.loads(request.body)["text"])  # one insert
    turn.apply_async(args=[message.pk], queue="chat")  # enqueue
    return JsonResponse({"id": message.pk})


def poll(request: HttpRequest, message_id: int) -> JsonResponse:
    reply = Msg.objects.filter(reply_to_id=message_id).values("text").first()  # one select
    return JsonResponse({"reply": reply["text"] if reply else None})


urlpatterns = [path("send/<int:conversation>/", send), path("poll/<int:message_id>/", poll)]
