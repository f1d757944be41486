from django.db import models


class StaticEvent(models.TextChoices):
    CONVERSATION_STARTED = "conversation_started", "Conversation started"
    PARTICIPANT_JOINED = "participant_joined", "Participant joined (first conversation with this chatbot)"
    PARTICIPANT_MESSAGE = "participant_message", "New participant message"
    BOT_MESSAGE = "bot_message", "New bot message"
    ENDED_BY_PARTICIPANT = "ended_by_participant", "Conversation ended by the participant"
    ENDED_BY_BOT = "ended_by_bot", "Conversation ended by the bot"
    ENDED_BY_TIMEOUT = "ended_by_timeout", "Conversation ended by a timeout"
    ENDED_MANUALLY = "ended_manually", "Conversation ended manually"


class ActionType(models.TextChoices):
    LOG = "log", "Log it"
    END_CONVERSATION = "end_conversation", "End the conversation"
    SEND_MESSAGE_TO_BOT = "send_message_to_bot", "Send a message to the bot"
    START_PIPELINE = "start_pipeline", "Start a pipeline"
    SCHEDULE_MESSAGE = "schedule_message", "Schedule a message"


class TriggerKind(models.TextChoices):
    STATIC = "static", "Event"
    TIMEOUT = "timeout", "Timeout"


class LogStatus(models.TextChoices):
    SUCCESS = "success", "Success"
    FAILURE = "failure", "Failure"


class Origin(models.TextChoices):
    BUILDER = "builder", "A team member"
    API = "api", "The API"
    BOT = "bot", "The bot"
    TRIGGER = "trigger", "A trigger"


class IntervalUnit(models.TextChoices):
    HOURS = "hours", "hours"
    DAYS = "days", "days"
    WEEKS = "weeks", "weeks"


class ScheduleStatus(models.TextChoices):
    ACTIVE = "active", "Scheduled"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class AttemptResult(models.TextChoices):
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class BroadcastStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    RUNNING = "running", "Sending"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RecipientResult(models.TextChoices):
    PENDING = "pending", "Waiting"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
