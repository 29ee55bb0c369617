# One image for every mailroom service; the command picks the stage:
#   mailroom collector|processor|responder [--with-api], mailroom api, mailroom topics create
# Build: docker build -t mailroom:latest .   (docs/deployment.md)

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# the venv is copied whole into the runtime image: no compiler or pip cache there
RUN python -m venv /opt/mailroom
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/mailroom/bin/pip install . \
    && /opt/mailroom/bin/mailroom --help >/dev/null

FROM python:3.11-slim
LABEL org.opencontainers.image.title="mailroom" \
      org.opencontainers.image.description="Mass email processing on Kafka"
ENV PATH=/opt/mailroom/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MAILROOM_DATA_DIR=/var/lib/mailroom \
    API_HOST=0.0.0.0 \
    API_PORT=8000
RUN groupadd --system --gid 10001 mailroom \
    && useradd --system --uid 10001 --gid mailroom --home-dir /var/lib/mailroom \
       --create-home --shell /usr/sbin/nologin mailroom
COPY --from=build /opt/mailroom /opt/mailroom
USER 10001:10001
WORKDIR /var/lib/mailroom
EXPOSE 8000
# the API (and every stage started with --with-api) answers /health/live while the
# process runs; slim has no curl, so Python's urllib asks (it fails on any non-2xx)
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/live' % os.environ.get('API_PORT', '8000'), timeout=4)" || exit 1
ENTRYPOINT ["mailroom"]
CMD ["up"]
