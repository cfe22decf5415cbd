"""The box where a widget explains what went wrong, instead of a traceback."""

from __future__ import annotations

import html

import ipywidgets


def error_text(error: BaseException) -> str:
    """The text a learner sees: the message of a ValueError/TypeError (our checks name the
    argument and the allowed values), otherwise the exception's type and message; never an
    empty line."""
    message = str(error)
    if isinstance(error, (ValueError, TypeError)) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


class MessageBox(ipywidgets.HTML):
    """An HTML line: empty when all is well, the error's message when not."""

    def show_error(self, error: BaseException) -> None:
        text = html.escape(error_text(error))
        self.value = f'<span style="color: #D55E00"><b>Cannot do that:</b> {text}</span>'

    def clear(self) -> None:
        self.value = ""
