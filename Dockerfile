# Production image: gunicorn serving Quarterdeck, static files served by WhiteNoise.
# Built by compose.yaml; every secret comes from the environment at run time.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 1000 quarterdeck
WORKDIR /app

COPY . .
# Editable install keeps the code in /app, where settings find templates/ and static/.
RUN pip install -e . \
    && SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdef ALLOWED_HOSTS=localhost \
       python manage.py collectstatic --noinput \
    && chown -R quarterdeck:quarterdeck /app

USER quarterdeck
EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*"]
