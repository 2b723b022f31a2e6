FROM python:3.11-slim AS base

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app

COPY --chown=app:app . .

# The gettext catalogues, compiled from rewards/locale/*.po (the .mo files are not in git).
RUN python -m core.locale

# Hashed, compressed static files for WhiteNoise; needs settings but no database or real secret.
RUN DEBUG=0 SECRET_KEY=collectstatic-only python manage.py collectstatic --no-input -v 0

USER app
EXPOSE 8000

# /healthz answers whatever the Host header, so the check works with any ALLOWED_HOSTS.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"

CMD ["gunicorn", "-c", "gunicorn.conf.py", "rewards_project.wsgi:application"]
