# Curadoria: the dashboard (default command) and the poller sidecar share this image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 curadoria

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY --chown=curadoria:curadoria . .
RUN mkdir -p /app/data/adapters && chown -R curadoria:curadoria /app/data

USER curadoria
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl --fail --silent http://127.0.0.1:8501/_stcore/health || exit 1

CMD ["sh", "-c", "python -m core migrate && exec streamlit run app.py --server.port 8501 --server.address 0.0.0.0"]
