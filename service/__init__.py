"""kbassist service: the FastAPI app behind the agent sidebar and integrations."""
