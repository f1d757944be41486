from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [('audit', '0001_initial')]
    operations = [migrations.RunSQL('COMMENT ON TABLE audit_auditevent IS NULL', migrations.RunSQL.noop)]
