"""The webhook server as deployed: `uvicorn webapp:app`.

An entry point, imported by nothing, like worker.py: the receivers (`webhooks.app`) get the
Zendesk access for agents' pictures (B11) from `service/media.py`, since they may not import
the API clients themselves.
"""

from service.media import zendesk_media
from webhooks.app import create_app

app = create_app(media=zendesk_media)
