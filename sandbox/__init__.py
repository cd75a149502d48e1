"""Offline stand-ins for Zendesk Support, Twilio Messaging and Klaviyo.

The embedded dev stack and every test talk to these instead of the real services. Each
factory returns a FastAPI app whose state is `app.state.sandbox`; each app imitates the real
API (checked against the official OpenAPI files) and offers `/_sandbox/*` control routes.
Nothing here imports the product: the sandbox plays the outside world.
"""

from sandbox.klaviyo import create_klaviyo_app
from sandbox.twilio import create_twilio_app
from sandbox.zendesk import create_zendesk_app

__all__ = ["create_klaviyo_app", "create_twilio_app", "create_zendesk_app"]
