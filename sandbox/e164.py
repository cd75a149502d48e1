"""The phone-number shape both Twilio and Klaviyo insist on: E.164 (`+` and 8 to 15 digits)."""

import re

E164 = re.compile(r"\+[1-9]\d{7,14}")
