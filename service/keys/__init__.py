"""API keys: who may call the service, in which role, for which agent."""
