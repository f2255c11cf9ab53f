"""softphone-assist: hears a call and prompts the agent with the service standard's scripted lines."""

__version__ = "0.1.0"
