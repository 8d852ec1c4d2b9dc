from django.db import migrations, models


class Migration(migrations.Migration):
    """One open draft per filing: concurrent starts of the same filing return the one draft."""

    dependencies = [
        ("applications", "0005_board_indexes"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="application",
            constraint=models.UniqueConstraint(
                condition=models.Q(("channel", "online"), ("status", "draft")),
                fields=("enterprise", "rule", "year"),
                name="one_online_draft_per_rule_and_year",
            ),
        ),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.UniqueConstraint(
                condition=models.Q(("channel", "window"), ("status", "draft")),
                fields=("enterprise", "rule", "year", "applicant"),
                name="one_counter_draft_per_clerk_rule_and_year",
            ),
        ),
    ]
