#!/bin/sh
# Container start: apply migrations, optionally create an admin and load the demo, then
# run the command (gunicorn by default).
set -eu

python manage.py migrate --noinput
python manage.py check --deploy --fail-level ERROR

if [ "${LOAD_DEMO:-0}" = "1" ]; then
  python manage.py load_demo --if-empty
fi

if [ -n "${DJANGO_SUPERUSER_USERNAME:-}" ] && [ -n "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
  python manage.py shell --no-imports -c "
from django.contrib.auth import get_user_model
import os
User = get_user_model()
name = os.environ['DJANGO_SUPERUSER_USERNAME']
if not User.objects.filter(username=name).exists():
    User.objects.create_superuser(name, os.environ.get('DJANGO_SUPERUSER_EMAIL', ''),
                                  os.environ['DJANGO_SUPERUSER_PASSWORD'])
    print(f'Created superuser {name}')
"
fi

exec "$@"
