"""Errors the user can fix: the CLI prints their message as one line and exits with status 2."""


class InputError(Exception):
    """Bad input (scenario file, override, CLI argument, run folder) described in one line.

    The message names the key or file and, where there is a closed set, the allowed values.
    """
