"""The error every configuration problem raises."""


class ConfigError(ValueError):
    """A configuration file is missing or malformed; the message names file and key."""
