"""Store staff who mark a conversation unread take part in it only until they have read
it, and are not e-mailed about it meanwhile."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("order_messages", "0012_message_time_from_the_post"),
    ]

    operations = [
        migrations.AddField(
            model_name="participant",
            name="marked_only",
            field=models.BooleanField(db_default=False, default=False),
        ),
    ]
