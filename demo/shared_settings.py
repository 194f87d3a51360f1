"""Settings both demo stores share (the marketplace's demo.settings and the Oscar shop's
demo.oscar_shop.settings): the demo mailbox, order messages as a visitor should see them,
SQLite's options and logging."""

import os

# WAL lets pages read while a message is written; IMMEDIATE takes the write lock at BEGIN,
# so two writers queue instead of failing half-way.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

# Every e-mail lands in the demo mailbox (/demo/mailbox/); with EMAIL_HOST set it is also
# sent through that SMTP server.
EMAIL_BACKEND = "demo.mailbox.mail.MailboxBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or 25)
DEFAULT_FROM_EMAIL = "Demo Marketplace <shop@marketplace.example>"
DEMO_MAILBOX = True

PORT = os.environ.get("PORT", "8000")
ORDER_MESSAGES_STORE_EMAIL = "orders@marketplace.example"
ORDER_MESSAGES_SITE_URL = os.environ.get("SITE_URL", f"http://127.0.0.1:{PORT}")
# A person trying the demo should see notifications within seconds, not minutes: messages
# after 5 seconds, and dispute events that follow one another quickly folded over 20
# seconds rather than five minutes (a seller hears of a withdrawal soon after the opening).
ORDER_MESSAGES_EMAIL_BATCH_DELAY = int(os.environ.get("EMAIL_BATCH_DELAY") or 5)
ORDER_MESSAGES_DISPUTE_EMAIL_FOLD_SECONDS = int(os.environ.get("DISPUTE_EMAIL_FOLD_SECONDS") or 20)
# Dispute deadlines are looked at every 5 seconds: a dispute whose deadline passed (moved
# there in the demo) is escalated at once, not up to a minute later.
ORDER_MESSAGES_DISPUTE_CLOCK_SECONDS = 5
# Hours a seller has to answer a dispute; DISPUTE_RESPONSE_HOURS=0.05 (three minutes) lets
# a visitor watch a dispute being escalated.
ORDER_MESSAGES_DISPUTE_RESPONSE_HOURS = float(os.environ.get("DISPUTE_RESPONSE_HOURS") or 48)
# Replies to this domain reach `manage.py receive_email` (or the inbound webhook below).
ORDER_MESSAGES_REPLY_DOMAIN = os.environ.get("REPLY_DOMAIN", "reply.marketplace.example")
ORDER_MESSAGES_MESSAGE_ID_DOMAIN = "marketplace.example"
# Live updates cross server processes through Redis when REDIS_URL is set.
ORDER_MESSAGES_REDIS_URL = os.environ.get("REDIS_URL") or None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"order_messages": {"handlers": ["console"], "level": "INFO"}},
}
