"""Offline stand-ins for Zendesk Support, Twilio Messaging and Klaviyo.

The embedded dev stack and every test talk to these instead of the real services. Each
factory returns a FastAPI app whose state is `app.state.sandbox`; each app imitates the real
API (checked against the official OpenAPI files) and offers `/_sandbox/*` control routes.
Nothing here imports the product: the sandbox plays the outside world. The package itself
imports nothing, so `sandbox.credentials` is cheap for the CLI: the apps are
`sandbox.zendesk.create_zendesk_app`, `sandbox.twilio.create_twilio_app` and
`sandbox.klaviyo.create_klaviyo_app`.
"""
