from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "tenant_apps.events"
    label = "events"
    verbose_name = "Events"

    def ready(self) -> None:
        """Listen to conversations and freeze triggers into chatbot versions (neither app imports this one)."""
        from tenant_apps.chatbots import versioning
        from tenant_apps.conversations import hooks
        from tenant_apps.events import listeners, triggers

        hooks.register(listeners.on_conversation_event)
        versioning.register_snapshot_part(
            "triggers",
            versioning.SnapshotPart(
                label="Event triggers", take=triggers.triggers_take, restore=triggers.triggers_restore
            ),
        )
