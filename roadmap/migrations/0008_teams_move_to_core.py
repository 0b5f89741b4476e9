
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('roadmap', '0007_usage_evidence_and_interviews'),
    ]

    operations = [
        # The table stays where it is: only Django's idea of which app owns the model
        # changes, so nothing is rebuilt or copied.
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
            migrations.AlterField(
                model_name='roadmapitem',
                name='team',
                field=models.ForeignKey(help_text='Its weekly rate prices the effort.', on_delete=django.db.models.deletion.PROTECT, related_name='delivered_items', to='core.team', verbose_name='delivering team'),
            ),
            migrations.AlterField(
                model_name='historicalroadmapitem',
                name='team',
                field=models.ForeignKey(blank=True, db_constraint=False, help_text='Its weekly rate prices the effort.', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.team', verbose_name='delivering team'),
            ),
            migrations.AlterField(
                model_name='historicalroadmapitem_requesting_teams',
                name='team',
                field=models.ForeignKey(blank=True, db_constraint=False, db_tablespace='', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.team'),
            ),
            migrations.AlterField(
                model_name='historicalstakeholderinterview',
                name='team',
                field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.team', verbose_name='team'),
            ),
            migrations.AlterField(
                model_name='teamcapacity',
                name='team',
                field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='capacities', to='core.team', verbose_name='team'),
            ),
            migrations.AlterField(
                model_name='stakeholderinterview',
                name='team',
                field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='interviews', to='core.team', verbose_name='team'),
            ),
            migrations.AlterField(
                model_name='dataproduct',
                name='consumers',
                field=models.ManyToManyField(blank=True, related_name='consumed_products', to='core.team', verbose_name='consumer teams'),
            ),
            migrations.AlterField(
                model_name='roadmapitem',
                name='requesting_teams',
                field=models.ManyToManyField(blank=True, related_name='requested_items', to='core.team', verbose_name='requesting teams'),
            ),
            migrations.DeleteModel(
                name='Team',
            ),
            ],
        ),
    ]
