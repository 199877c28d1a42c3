# One image for both servers: the command chooses which one runs.
# PYTHON_IMAGE is a build argument so that a machine without a registry can build
# on a local stand-in; users get the official image.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements.lock /tmp/requirements.lock
# A build behind a TLS-intercepting proxy passes its CA bundle as the optional
# build secret `pip_cert`; it is used by this step only and lands in no layer.
RUN --mount=type=secret,id=pip_cert \
    if [ -f /run/secrets/pip_cert ]; then export PIP_CERT=/run/secrets/pip_cert; fi; \
    python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes -r /tmp/requirements.lock

FROM ${PYTHON_IMAGE}
# A fixed uid and gid: Kubernetes' runAsNonRoot can check a number only, so the
# manifests (deploy/kubernetes) name this user as runAsUser/runAsGroup 10001.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app app
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY shared shared
COPY auth_server auth_server
COPY resource_server resource_server
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    DJANGO_READ_DOT_ENV_FILE=false \
    GUNICORN_BIND=0.0.0.0:8000
# Static files of the AS (admin, login and consent pages), served by WhiteNoise.
# The keys exist for this command only (the settings refuse to load without an
# ID token signing key, so a throwaway one is made); the image holds no secret.
RUN cd auth_server && AS_SECRET_KEY=collectstatic-only \
    OIDC_RSA_PRIVATE_KEY="$(openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 | openssl base64 -A)" \
    python manage.py collectstatic --no-input -v0
USER app
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"
ENTRYPOINT ["/app/shared/entrypoint.sh"]
CMD ["gunicorn", "--chdir", "auth_server", "-c", "python:shared.gunicorn_conf", "config.wsgi"]
