"""Notice text: a platform's Jinja2 template rendered in a sandbox, and the values it may use.

Templates are written by supervisors, so they run in Jinja's SandboxedEnvironment (no
attribute tricks, no imports) with StrictUndefined (a misspelt name is an error, not a blank
in a letter to a platform), and with string/list repetition capped so a template cannot
exhaust memory.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from app.errors import Unprocessable

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000


class _Sandbox(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError("the power operator is not allowed in notice templates")
        sized = left if isinstance(left, str | list | tuple) else right
        times = right if sized is left else left
        if (isinstance(sized, str | list | tuple) and isinstance(times, int)
                and len(sized) * times > MAX_OUTPUT_CHARS):
            raise SecurityError("repetition would make the notice too long")
        return super().call_binop(context, operator, left, right)


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True,
                trim_blocks=True, lstrip_blocks=True)

# What a template may use; shown on the platforms page and used to test a template on save.
SAMPLE_CONTEXT: dict[str, Any] = {
    "reference": "TD-123",
    "notice_number": 2,
    "first_sent_at": "2026-11-20 09:00 UTC",
    "platform_reference": "CASE-42",
    "account": {"platform": "instagram", "platform_name": "Instagram",
                "handle": "example.handle", "url": "https://www.instagram.com/example.handle/"},
    "urls": ["https://www.instagram.com/example.handle/",
             "https://www.instagram.com/p/AbCdEf/"],
    "reason": "Photographs taken inside a prison cell on a smuggled phone.",
    "evidence": [{"number": 1, "sha256": "0" * 64, "post_url": "https://www.instagram.com/p/AbCdEf/",
                  "posted_at": "2026-11-19 21:15 UTC", "captured_at": "2026-11-19 21:10 UTC"}],
    "pack": {"filename": "TD-123-evidence.zip", "sha256": "f" * 64},
}

DEFAULT_TEMPLATE = """\
Takedown request {{ reference }}{% if notice_number > 1 %} (reminder {{ notice_number }}){% endif %}

To the {{ account.platform_name }} trust and safety team,

We ask you to remove the {{ account.platform_name }} account "{{ account.handle }}"
({{ account.url }}). It is operated from inside a prison on an illicit mobile phone.

Reason:
{{ reason }}

Addresses concerned:
{% for url in urls %}
- {{ url }}
{% endfor %}

Evidence ({{ evidence | length }} image{{ "s" if evidence | length != 1 }}). Display copies and a
manifest giving the SHA-256 of every original are in the attached pack {{ pack.filename }}
(SHA-256 {{ pack.sha256 }}).
{% for item in evidence %}
{{ item.number }}. {{ item.post_url or "post address not known" }}
   posted {{ item.posted_at or "time not known" }}, SHA-256 {{ item.sha256 }}
{% endfor %}
{% if notice_number > 1 %}

This is reminder {{ notice_number }}; our first notice was sent on {{ first_sent_at }}.
{% if platform_reference %}Your reference: {{ platform_reference }}.
{% endif %}
{% endif %}

Please reply quoting {{ reference }}.
"""


@lru_cache(maxsize=64)
def _compiled(text: str) -> Template:
    return _ENV.from_string(text)


def compile_template(text: str) -> Template:
    """The compiled template, or 422 naming the line of a syntax error."""
    if len(text) > MAX_TEMPLATE_CHARS:
        raise Unprocessable(f"The notice template is longer than {MAX_TEMPLATE_CHARS} "
                            "characters.")
    try:
        return _compiled(text)
    except TemplateSyntaxError as exc:
        raise Unprocessable(f"The notice template has an error on line {exc.lineno}: "
                            f"{exc.message}") from None


def render(text: str, context: dict[str, Any]) -> str:
    """Render a template; any failure of the template itself is a 422 that says why."""
    template = compile_template(text)
    try:
        out = template.render(context)
    except SecurityError as exc:
        raise Unprocessable(f"The notice template is not allowed: {exc}") from None
    except (TemplateError, ArithmeticError, TypeError, ValueError, LookupError,
            AttributeError) as exc:  # what a template's own expressions can raise
        raise Unprocessable(f"The notice template failed: {exc}") from None
    if len(out) > MAX_OUTPUT_CHARS:
        raise Unprocessable("The notice template produces a notice that is too long.")
    if not out.strip():
        raise Unprocessable("The notice template produces an empty notice.")
    return out


def validate(text: str) -> None:
    """Refuse a template that does not compile or does not render with the sample values."""
    render(text, SAMPLE_CONTEXT)


def subject(reference: str, platform_name: str, handle: str, number: int,
            platform_reference: str = "") -> str:
    text = f"Takedown request {reference}: {platform_name} account {handle}"
    if number > 1:
        text += f" (reminder {number})"
    if platform_reference:
        text += f" [your ref {platform_reference}]"
    return text[:255]
