# One image, two roles: the Temporal worker (default CMD) and the webhook receivers
# (docker-compose.yml runs `uvicorn webapp:app` with the same image).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# The runtime set at the exact versions that were tested (requirements/runtime.lock, from
# scripts/lock): no sandbox, no Temporal dev server, no plotting. Installed before the code is
# copied, so that a code change does not reinstall them.
COPY requirements/runtime.lock ./requirements/
RUN pip install --no-cache-dir -r requirements/runtime.lock

# The project itself; its dependencies are already there, and nothing else may come in.
COPY . .
RUN pip install --no-cache-dir --no-deps . \
 && rm -rf build ./*.egg-info \
 && groupadd --system --gid 10001 smsdesk \
 && useradd --system --uid 10001 --gid smsdesk --create-home --shell /usr/sbin/nologin smsdesk \
 && mkdir -p /app/.smsdesk \
 && chown smsdesk:smsdesk /app/.smsdesk

# Never run as root. Numeric so that orchestrators can verify runAsNonRoot.
USER 10001:10001

EXPOSE 8000
CMD ["python", "worker.py"]
