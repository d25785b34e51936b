# tilbudskart for operators: runs scripts/serve.sh, the tested start script (two replicas of
# the app behind nginx with sticky sessions), unchanged.
#
# NOT BUILT OR TESTED HERE: the development machine reaches no container registry. What it
# runs is what benchmarks/load.py starts and measures (README, "Running in production").
#
#   docker build -t tilbudskart .
#   docker run -p 8080:8080 -v /path/to/shared/data:/data:ro \
#       -e STREAMLIT_BROWSER_SERVER_ADDRESS=kart.example.no tilbudskart
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends nginx \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 tilbudskart

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir .
COPY app.py serve.py ./
COPY .streamlit ./.streamlit
COPY scripts ./scripts
COPY deploy ./deploy

USER tilbudskart
# The shared geodata (geo/manifest.csv) is mounted at /data; built app data is cached in
# the home folder. nginx listens on every interface of the container; the replicas on
# loopback only.
ENV TILBUDSKART_DATA_DIR=/data \
    TILBUDSKART_LISTEN=0.0.0.0:8080 \
    PYTHON=python \
    PYTHONUNBUFFERED=1
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_stcore/health', timeout=4)"
CMD ["sh", "scripts/serve.sh", "2"]
