"""The inbound-mail webhooks of the providers named in ORDER_MESSAGES_INBOUND_PROVIDERS, and
no others: ``path("anymail/", include("order_messages.inbound_urls"))``.

django-anymail's own ``anymail.urls`` mounts every provider it knows; one the store has not
configured answers 500, and one that authenticates with basic auth alone is open to anyone
while ``WEBHOOK_SECRET`` is unset. The system check (``checks.py``) refuses the latter.
"""

from anymail import urls as anymail_urls

from .conf import app_settings

# The same namespace, routes and names as anymail.urls: reverse("anymail:…") keeps working.
app_name = "anymail"


SUFFIX = "_inbound_webhook"


def _inbound_patterns() -> dict:
    """{provider: anymail's inbound URL pattern} of every provider anymail knows."""
    return {
        p.name.removesuffix(SUFFIX): p for p in anymail_urls.urlpatterns if p.name.endswith(SUFFIX)
    }


def inbound_urlpatterns(providers) -> list:
    """anymail's inbound URL patterns of these providers ("mailgun", "postmark", …).
    Names anymail does not know are left out (the system check reports them)."""
    known = _inbound_patterns()
    return [known[provider] for provider in dict.fromkeys(providers) if provider in known]


def known_providers() -> list[str]:
    """Every provider anymail has an inbound webhook for."""
    return list(_inbound_patterns())


# Read once, when the URLconf is loaded: a change of the setting needs a restart.
urlpatterns = inbound_urlpatterns(app_settings.INBOUND_PROVIDERS)
