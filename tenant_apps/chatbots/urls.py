from django.urls import path

from tenant_apps.chatbots import pipeline_views, views

app_name = "chatbots"

urlpatterns = [
    path("", views.chatbot_list_view, name="chatbot_list"),
    path("new/", views.chatbot_create_view, name="chatbot_create"),
    path("<int:chatbot_id>/", views.chatbot_detail_view, name="chatbot_detail"),
    path("<int:chatbot_id>/build/", views.chatbot_build_view, name="chatbot_build"),
    path("<int:chatbot_id>/settings/", views.chatbot_settings_view, name="chatbot_settings"),
    path("<int:chatbot_id>/copy/", views.chatbot_copy_view, name="chatbot_copy"),
    path("<int:chatbot_id>/archive/", views.chatbot_archive_view, name="chatbot_archive"),
    path("<int:chatbot_id>/pipeline/", pipeline_views.pipeline_edit_view, name="pipeline_edit"),
    path("<int:chatbot_id>/versions/", views.version_list_view, name="version_list"),
    path("<int:chatbot_id>/versions/new/", views.version_create_view, name="version_create"),
    path("<int:chatbot_id>/versions/compare/", views.version_compare_view, name="version_compare"),
    path("<int:chatbot_id>/versions/compare/pipeline/", pipeline_views.version_diff_view, name="version_diff"),
    path(
        "<int:chatbot_id>/versions/<int:number>/pipeline/",
        pipeline_views.version_pipeline_view,
        name="version_pipeline",
    ),
    path("<int:chatbot_id>/versions/<int:number>/publish/", views.version_publish_view, name="version_publish"),
    path("<int:chatbot_id>/versions/<int:number>/revert/", views.version_revert_view, name="version_revert"),
    path("consent-forms/", views.consent_form_list_view, name="consent_form_list"),
    path("consent-forms/new/", views.consent_form_edit_view, name="consent_form_create"),
    path("consent-forms/<int:form_id>/", views.consent_form_edit_view, name="consent_form_edit"),
    path("consent-forms/<int:form_id>/delete/", views.consent_form_delete_view, name="consent_form_delete"),
]
