"""A refusal: what someone asked for is not done, and ``message`` says why (Chinese).

Each area raises its own kind (``ActionRefused``, ``RosterRefused``, …) so a
caller catches only what it can show; the message goes beside the form, at
the form field ``field`` when the refusal names one. Nothing was changed.
"""


class Refused(Exception):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
