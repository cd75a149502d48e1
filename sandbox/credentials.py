"""The one set of credentials the sandboxes accept by default, and the dev stack configures the
product with: `python -m sandbox` and `worker.py --dev` agree, so a product pointed at a
hand-started sandbox is let in. Dependency-free, so the CLI can read it without the apps."""

ZENDESK_OAUTH_TOKEN = "sandbox-zendesk-oauth-token"
ZENDESK_API_EMAIL = "api@acme.example"
ZENDESK_API_TOKEN = "sandbox-zendesk-api-token"
ZENDESK_WEBHOOK_SECRET = "sandbox-zendesk-webhook-secret"
TWILIO_ACCOUNT_SID = "AC00000000000000000000000000sandbox"
TWILIO_AUTH_TOKEN = "sandbox-twilio-auth-token"
KLAVIYO_API_KEY = "pk_sandbox_key"
