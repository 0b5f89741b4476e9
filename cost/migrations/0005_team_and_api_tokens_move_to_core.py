
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('cost', '0004_job_history'),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns the model
        # changes, so nothing is rebuilt or copied.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
            migrations.AlterField(
                model_name='allocationrule',
                name='team',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='allocation_rules', to='core.team', verbose_name='team'),
            ),
            migrations.AlterField(
                model_name='jobuser',
                name='team',
                field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='job_users', to='core.team', verbose_name='team'),
            ),
            migrations.DeleteModel(
                name='ApiToken',
            ),
            ],
        ),
    ]
