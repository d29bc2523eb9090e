# medalliance worker image: `docker build -t medalliance:0.1.0 .`
# Stage 1 builds a virtualenv with the project and its wheels; stage 2 copies only that
# virtualenv onto a clean slim base, so no compiler, pip cache or source tree ships.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/medalliance
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY streams ./streams
COPY dashboards ./dashboards
# A regular (not editable) install: the runtime stage gets site-packages, not /src.
RUN /opt/medalliance/bin/pip install --upgrade pip \
 && /opt/medalliance/bin/pip install .

FROM python:3.11-slim AS runtime
LABEL org.opencontainers.image.title="medalliance" \
      org.opencontainers.image.description="County medical alliance monitoring: Kafka events -> Faust workers -> Prometheus" \
      org.opencontainers.image.licenses="Apache-2.0"
# A fixed numeric uid/gid so Kubernetes' runAsNonRoot can verify it and volumes can be chowned.
ARG UID=10001
RUN groupadd --system --gid ${UID} medalliance \
 && useradd --system --uid ${UID} --gid ${UID} --home-dir /var/lib/medalliance --shell /usr/sbin/nologin medalliance \
 && mkdir -p /var/lib/medalliance \
 && chown ${UID}:${UID} /var/lib/medalliance
COPY --from=build /opt/medalliance /opt/medalliance
# Every setting reaches the program as a MEDALLIANCE_* variable (streams/settings.py).
# In a container the web port must listen on all interfaces, and the tables live on a volume.
ENV PATH=/opt/medalliance/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDALLIANCE_WEB_HOST=0.0.0.0 \
    MEDALLIANCE_WEB_PORT=6066 \
    MEDALLIANCE_STORE=rocksdb \
    MEDALLIANCE_DATA_DIR=/var/lib/medalliance
WORKDIR /var/lib/medalliance
VOLUME ["/var/lib/medalliance"]
USER ${UID}:${UID}
EXPOSE 6066
# slim has no curl: ask /health with the interpreter the image already carries.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('MEDALLIANCE_WEB_PORT', '6066'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["medalliance"]
CMD ["worker"]
