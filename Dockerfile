# Production image: gunicorn serving Quarterdeck, static files served by WhiteNoise.
# Built by compose.yaml; every secret comes from the environment at run time.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint (review pack PDFs) draws text with Pango; Noto CJK renders Japanese, Chinese
# and Korean titles and comments in the PDF. gettext's msgfmt compiles the translation
# catalogues below (.mo files are built, not committed).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
       libharfbuzz-subset0 fonts-noto-core fonts-noto-cjk fonts-dejavu-core gettext \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 1000 quarterdeck
WORKDIR /app

COPY requirements.lock ./
# The pinned, hashed runtime versions CI tested (no test or lint tools).
RUN pip install --require-hashes -r requirements.lock
COPY . .
# Editable install keeps the code in /app, where settings find templates/ and static/.
RUN pip install --no-deps -e . \
    && SECRET_KEY=collectstatic-only-not-a-real-key-0123456789abcdef ALLOWED_HOSTS=localhost \
       python manage.py collectstatic --noinput \
    && SECRET_KEY=compilemessages-only-not-a-real-key-0123456789abcdef ALLOWED_HOSTS=localhost \
       python manage.py compilemessages --ignore '.venv' \
    && chown -R quarterdeck:quarterdeck /app

USER quarterdeck
EXPOSE 8000
ENTRYPOINT ["/app/scripts/docker-entrypoint.sh"]
# --limit-request-line: gunicorn's maximum (8190 bytes, default 4094), for long API
# queries (README "URL length").
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", \
     "--access-logfile", "-", "--forwarded-allow-ips", "*", "--limit-request-line", "8190"]
