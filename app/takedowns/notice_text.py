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

GOOD_FAITH_STATEMENT = (
    "I state in good faith that the information in this notice is accurate, that the images "
    "listed were captured from the account named above, and that I am authorised to make "
    "this request on behalf of the prison service.")

# What a template may use; shown on the platforms page and used to test a template on save.
SAMPLE_CONTEXT: dict[str, Any] = {
    "reference": "TD-123",
    "notice_number": 2,
    "first_sent_at": "2026-11-20 09:00 UTC",
    "platform_reference": "CASE-42",
    "account": {"platform": "instagram", "platform_name": "Instagram",
                "handle": "example.handle", "url": "https://www.instagram.com/example.handle/",
                "numeric_id": "17841400000000001"},
    "urls": ["https://www.instagram.com/example.handle/",
             "https://www.instagram.com/p/AbCdEf/"],
    "reason": "Photographs taken inside a prison cell on a smuggled phone.",
    "legal_basis": "Prison Act 1952, section 40D (images transmitted from inside a prison).",
    "contact": "Digital investigations unit, du@prisons.example, 0300 000 0000",
    "good_faith_statement": GOOD_FAITH_STATEMENT,
    "evidence": [{"number": 1, "sha256": "0" * 64, "post_url": "https://www.instagram.com/p/AbCdEf/",
                  "posted_at": "2026-11-19 21:15 UTC", "captured_at": "2026-11-19 21:10 UTC"}],
    "pack": {"filename": "TD-123-evidence.zip", "sha256": "f" * 64},
}

DEFAULT_TEMPLATE = """\
Takedown request {{ reference }}{% if notice_number > 1 %} (reminder {{ notice_number }}){% endif %}

To the {{ account.platform_name }} trust and safety team,

We ask you to remove the {{ account.platform_name }} account "{{ account.handle }}"
({{ account.url }}){% if account.numeric_id %}, account id {{ account.numeric_id }}{% endif %}.
It is operated from inside a prison on an illicit mobile phone.

Legal basis:
{{ legal_basis }}

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

{{ good_faith_statement }}

Contact: {{ contact }}
Please reply quoting {{ reference }}.
"""

# Parts a platform needs to act; a template whose notice leaves one out is refused.
REQUIRED_PARTS = {"legal_basis": "the legal basis", "reason": "the reason",
                  "contact": "the sender's contact", "good_faith_statement":
                  "the good-faith statement"}


def missing_parts(body: str, context: dict[str, Any]) -> list[str]:
    """What the platform needs that this notice text leaves out (only values that are set)."""
    gone = [label for key, label in REQUIRED_PARTS.items()
            if str(context.get(key) or "").strip() and str(context[key]).strip() not in body]
    gone += [f"the address {url}" for url in context.get("urls", []) if url not in body]
    numeric = context.get("account", {}).get("numeric_id")
    if numeric and numeric not in body:
        gone.append("the platform's account id")
    return gone


def check_complete(body: str, context: dict[str, Any]) -> None:
    gone = missing_parts(body, context)
    if gone:
        raise Unprocessable("The notice template leaves out " + ", ".join(gone) + ": a "
                            "supervisor adds it on the platforms page.")


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
    """Refuse a template that does not compile, does not render with the sample values, or
    leaves out what a platform needs to act."""
    check_complete(render(text, SAMPLE_CONTEXT), SAMPLE_CONTEXT)


def subject(reference: str, platform_name: str, handle: str, number: int,
            platform_reference: str = "") -> str:
    text = f"Takedown request {reference}: {platform_name} account {handle}"
    if number > 1:
        text += f" (reminder {number})"
    if platform_reference:
        text += f" [your ref {platform_reference}]"
    return text[:255]
