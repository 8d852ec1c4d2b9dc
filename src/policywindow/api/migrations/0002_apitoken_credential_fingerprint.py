from django.db import migrations, models


def fingerprint_existing_tokens(apps, schema_editor):
    """Tokens issued before the token rule stand on their owner's credentials as they are now."""
    from policywindow.api.services import credential_fingerprint

    ApiToken = apps.get_model("api", "ApiToken")
    for token in ApiToken.objects.select_related("user").iterator():
        token.credential_fingerprint = credential_fingerprint(token.user)
        token.save(update_fields=["credential_fingerprint"])


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("system", "0002_dual_control_second_factor"),
    ]

    operations = [
        migrations.AddField(
            model_name="apitoken",
            name="credential_fingerprint",
            field=models.CharField(default="", editable=False, max_length=64),
        ),
        migrations.RunPython(fingerprint_existing_tokens, migrations.RunPython.noop),
    ]
