"""A message's created_at is the moment its post took, the one the conversation keeps as
its last_message_at and awaiting_since, rather than one read a moment later as it is
saved. The column itself is unchanged: only Django's state changes, so no table is
rebuilt (SQLite would otherwise copy the whole message table and its search triggers)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("order_messages", "0011_search"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="message",
                    name="created_at",
                    field=models.DateTimeField(
                        blank=True, default=django.utils.timezone.now, editable=False
                    ),
                ),
            ],
        ),
    ]
