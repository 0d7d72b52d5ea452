# syntax=docker/dockerfile:1
# Budget Rules: multi-stage image. durable-rules ships only as source, so the build stage has a
# C compiler; the runtime stage has none and runs as an unprivileged user.
#
#   docker build -t budget-rules .
#   docker run --rm -p 8000:8000 \
#     -e BUDGET_RULES_AUDIT_SECRET="$(openssl rand -hex 32)" \
#     -e BUDGET_RULES_DATABASE_URL=postgresql+psycopg://user@db:5432/budget \
#     budget-rules                        # or keep the SQLite default with -v budget-data:/app/data
#   docker run --rm -e BUDGET_RULES_AUDIT_SECRET=... -v budget-data:/app/data budget-rules \
#     token create --name ops --role admin
#   docker run --rm -v "$PWD:/work" budget-rules recommend /work/request.json --format table
#
# The image runs in production mode: it refuses to start without BUDGET_RULES_AUDIT_SECRET.

FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY service ./service
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BUDGET_RULES_HOME=/app \
    BUDGET_RULES_ENVIRONMENT=production \
    BUDGET_RULES_DATABASE_URL=sqlite:////app/data/budget-rules.sqlite3
# WeasyPrint renders the 编制说明 PDF: Pango and a CJK font to embed (no browser, no compiler)
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 budget
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY policies ./policies
COPY rulesets ./rulesets
COPY schemas ./schemas
COPY demo ./demo
COPY simulations ./simulations
COPY migrations ./migrations
COPY alembic.ini ./
RUN mkdir -p /app/data && chown budget:budget /app/data
USER budget
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
ENTRYPOINT ["budget-rules"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
