"""Text for chat services' incoming webhooks (Slack, Mattermost), where some characters are commands.

Slack reads `<…>` as a control sequence (`<!channel>` pings everyone, `<https://evil.example|Invoice>`
is a link disguised by its label) and wants `&`, `<` and `>` escaped as HTML entities; Slack and
Mattermost turn a bare `@channel`, `@here` or `@all` into a ping. A product name is typed by staff
or comes from Stripe, so it is data: escaped, and every `@` kept from starting a mention (a word
joiner after it, which readers do not see).
"""

import re

_MENTION = re.compile(r"@(?=\w)")


def chat_text_escaped(text: str) -> str:
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MENTION.sub("@\u2060", escaped)
