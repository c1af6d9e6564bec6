"""The one exception family for bad input.

Everything a user can get wrong (a params value, a dataset file, a checkpoint, a prediction folder)
raises :class:`InputError` with a message that names the file, the field and the fix. The ``hodor``
command and the stages print such errors as one line, without a traceback; anything else is a bug and
keeps its traceback.
"""


class InputError(ValueError):
    """Bad user input; the message names what is wrong, where, and what to do."""
