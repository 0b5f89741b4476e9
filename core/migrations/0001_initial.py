
import core.money
import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


# Team was roadmap.Team and ApiToken cost.ApiToken. Their content types follow them, so
# the permissions granted on them (the Manager group's, any user's) stay granted.
MOVED = [("roadmap", "team"), ("cost", "apitoken")]


def own_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        if not ContentType.objects.filter(app_label="core", model=model).exists():
            ContentType.objects.filter(app_label=app_label, model=model).update(app_label="core")


def disown_content_types(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    for app_label, model in MOVED:
        ContentType.objects.filter(app_label="core", model=model).update(app_label=app_label)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('roadmap', '0007_usage_evidence_and_interviews'),
        ('cost', '0004_job_history'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns the model
        # changes, so nothing is rebuilt or copied.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
            migrations.CreateModel(
                name='ApiToken',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(help_text="Where it is used, e.g. 'finance notebook'.", max_length=100, verbose_name='name')),
                    ('prefix', models.CharField(editable=False, max_length=8, verbose_name='key starts with')),
                    ('key_hash', models.CharField(editable=False, max_length=64, unique=True, verbose_name='key hash')),
                    ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                    ('last_used_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last used')),
                    ('revoked_at', models.DateTimeField(blank=True, editable=False, null=True, verbose_name='revoked')),
                    ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                    ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='api_tokens', to=settings.AUTH_USER_MODEL, verbose_name='user')),
                ],
                options={
                    'verbose_name': 'API token',
                    'verbose_name_plural': 'API tokens',
                    'db_table': 'cost_apitoken',
                    'ordering': ['-created_at', '-id'],
                },
            ),
            migrations.CreateModel(
                name='Team',
                fields=[
                    ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                    ('name', models.CharField(max_length=80, unique=True, verbose_name='name')),
                    ('slug', models.SlugField(help_text='Short name, as used in the `team` label of BigQuery jobs and billing.', max_length=40, unique=True, verbose_name='slug')),
                    ('weekly_rate', models.DecimalField(blank=True, decimal_places=2, help_text='Fully loaded cost of one person-week; used for people cost.', max_digits=12, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0'))], verbose_name='loaded weekly rate')),
                    ('currency', models.CharField(default=core.money.default_currency, max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO code such as USD.')], verbose_name='currency')),
                ],
                options={
                    'verbose_name': 'team',
                    'verbose_name_plural': 'teams',
                    'db_table': 'roadmap_team',
                    'ordering': ['name'],
                    'constraints': [models.CheckConstraint(condition=models.Q(('weekly_rate__isnull', True), ('weekly_rate__gte', 0), _connector='OR'), name='team_weekly_rate_not_negative'), models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='team_currency_iso')],
                },
            ),
            ],
        ),
        migrations.RunPython(own_content_types, disown_content_types),
    ]
