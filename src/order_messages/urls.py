from django.urls import path

from .views import attachments as file_views
from .views import backoffice, email_settings, live, orders, saved_replies
from .views import dashboard as dashboard_views
from .views import storefront as views
from .views import tokens as token_views

app_name = "order_messages"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("mark/", backoffice.mark, name="mark"),
    path("orders/", orders.order_list, name="order_list"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path(
        "dashboard/vendors/<str:vendor_key>/",
        dashboard_views.vendor_dashboard,
        name="vendor_dashboard",
    ),
    path("unread/", views.badge, name="badge"),
    path("live/", live.stream, name="live"),
    path("preferences/", email_settings.preferences, name="preferences"),
    path("preferences/unmute/<int:conversation_id>/", email_settings.unmute, name="unmute"),
    path("unsubscribe/<str:token>/", email_settings.unsubscribe, name="unsubscribe"),
    path("tokens/", token_views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", token_views.revoke, name="revoke_token"),
    path("replies/", saved_replies.saved_replies, name="saved_replies"),
    path("replies/<int:reply_id>/", saved_replies.edit_saved_reply, name="edit_saved_reply"),
    path(
        "replies/<int:reply_id>/delete/",
        saved_replies.delete_saved_reply,
        name="delete_saved_reply",
    ),
    path("guest/<str:token>/", views.guest, name="guest"),
    path("files/<int:attachment_id>/", file_views.file, name="file"),
    path(
        "files/<int:attachment_id>/thumbnail/",
        file_views.file,
        {"thumbnail": True},
        name="thumbnail",
    ),
    path("files/<int:attachment_id>/discard/", file_views.discard, name="discard_file"),
    path("files/mail/<str:token>/", file_views.mailed_file, name="mailed_file"),
    path("orders/<str:number>/", views.order, name="order"),
    path("orders/<str:number>/<str:vendor_key>/", views.thread, name="thread"),
    path("orders/<str:number>/<str:vendor_key>/files/", file_views.upload, name="upload_file"),
    path("orders/<str:number>/<str:vendor_key>/read/", views.read, name="read"),
    path(
        "orders/<str:number>/<str:vendor_key>/dispute/open/",
        views.open_dispute,
        name="open_dispute",
    ),
    path(
        "orders/<str:number>/<str:vendor_key>/dispute/close/",
        views.close_dispute,
        name="close_dispute",
    ),
]
