from django.apps import AppConfig


class ChatbotsConfig(AppConfig):
    name = "tenant_apps.chatbots"
    label = "chatbots"
    verbose_name = "Chatbots"
