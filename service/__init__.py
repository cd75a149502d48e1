"""How smsdesk runs as a service: the worker factory (`service.worker`)."""
