from django.urls import path

from tenant_apps.conversations.views import member_chat, pipeline_test, public_link, review

app_name = "conversations"

urlpatterns = [
    path("chatbots/<int:chatbot_id>/chat/", member_chat.chat_start_view, name="chat_start"),
    path("chatbots/<int:chatbot_id>/pipeline/test/", pipeline_test.pipeline_test_send_view, name="pipeline_test_send"),
    path(
        "chatbots/<int:chatbot_id>/pipeline/test/<uuid:session_id>/messages/<int:message_id>/",
        pipeline_test.pipeline_test_reply_view,
        name="pipeline_test_reply",
    ),
    path("chat/<uuid:session_id>/", member_chat.chat_view, name="chat"),
    path("chat/<uuid:session_id>/send/", member_chat.chat_send_view, name="chat_send"),
    path("chat/<uuid:session_id>/messages/<int:message_id>/reply/", member_chat.chat_reply_view, name="chat_reply"),
    path("chat/<uuid:session_id>/consent/", member_chat.chat_consent_view, name="chat_consent"),
    path("chat/<uuid:session_id>/new/", member_chat.chat_new_view, name="chat_new"),
    path("traces/<int:trace_id>/", review.trace_view, name="trace_detail"),
    path("c/<uuid:public_id>/", public_link.public_chat_view, name="public_chat"),
    path("c/<uuid:public_id>/send/", public_link.public_start_send_view, name="public_start_send"),
    path("c/<uuid:public_id>/consent/", public_link.public_start_consent_view, name="public_start_consent"),
    path("c/<uuid:public_id>/s/<uuid:session_id>/send/", public_link.public_send_view, name="public_send"),
    path(
        "c/<uuid:public_id>/s/<uuid:session_id>/messages/<int:message_id>/reply/",
        public_link.public_reply_view,
        name="public_reply",
    ),
    path("c/<uuid:public_id>/s/<uuid:session_id>/consent/", public_link.public_consent_view, name="public_consent"),
    path(
        "c/<uuid:public_id>/s/<uuid:session_id>/files/<int:file_id>/", public_link.public_file_view, name="public_file"
    ),
    path("sessions/", review.session_list_view, name="session_list"),
    path("sessions/export/", review.export_create_view, name="export_create"),
    path("sessions/exports/<int:session_export_id>/", review.export_detail_view, name="export_detail"),
    path("sessions/exports/<int:session_export_id>/download/", review.export_download_view, name="export_download"),
    path("sessions/<uuid:session_id>/", review.session_detail_view, name="session_detail"),
    path("sessions/<uuid:session_id>/end/", review.session_end_view, name="session_end"),
    path("sessions/<uuid:session_id>/files/<int:file_id>/", review.session_file_view, name="session_file"),
    path("sessions/<uuid:session_id>/messages/<int:message_id>/tags/", review.message_tag_view, name="message_tag"),
    path(
        "sessions/<uuid:session_id>/messages/<int:message_id>/tags/<int:tag_id>/remove/",
        review.message_untag_view,
        name="message_untag",
    ),
    path(
        "sessions/<uuid:session_id>/messages/<int:message_id>/comments/",
        review.message_comment_view,
        name="message_comment",
    ),
]
