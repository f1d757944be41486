from django.db import models


class Msg(models.Model):
    conversation = models.IntegerField(db_index=True)
    text = models.TextField()
    reply_to = models.OneToOneField("self", null=True, on_delete=models.CASCADE, related_name="reply")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.text[:40]
