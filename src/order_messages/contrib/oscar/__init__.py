"""Order messages for a store built on django-oscar.

In the store's settings and URLconf::

    INSTALLED_APPS = ["order_messages.contrib.oscar", "order_messages", *INSTALLED_APPS]
    ORDER_MESSAGES_ADAPTER = "order_messages.contrib.oscar.adapter.OscarAdapter"
    path("messages/", include("order_messages.urls")),

``order_messages.contrib.oscar`` comes before Oscar's apps: its templates add "Contact
seller", the Messages tab and the header icon to Oscar's own templates by extending them.
See docs/oscar.md.
"""
