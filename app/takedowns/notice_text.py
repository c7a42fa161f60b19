"""Notice text: a platform's Jinja2 template rendered in a sandbox, and the values it may use.

Templates are written by supervisors, so they run in Jinja's SandboxedEnvironment (no
attribute tricks, no imports) with StrictUndefined (a misspelt name is an error, not a blank
in a letter to a platform), and with string/list repetition capped so a template cannot
exhaust memory. Every render is also bounded: the template's own code may run at most
MAX_TEMPLATE_STEPS lines and MAX_RENDER_SECONDS (a trace function counts the lines of the
template's frames only), and its output is consumed piece by piece and cut off past
MAX_OUTPUT_CHARS. So nested loops fail that one render with a reason instead of holding a
request or `jobs run`; on save a template is rendered against worst-case takedowns too.
"""

from __future__ import annotations

import sys
import time
from functools import lru_cache
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from app.errors import Unprocessable

MAX_TEMPLATE_CHARS = 20_000
MAX_OUTPUT_CHARS = 100_000
MAX_TEMPLATE_STEPS = 200_000  # lines of template code per render (the default runs ~300)
MAX_RENDER_SECONDS = 1.0


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
             "https://www.instagram.com/p/AbCdEf/", "https://www.instagram.com/reel/GhIjKl/"],
    "reason": "Photographs taken inside a prison cell on a smuggled phone.",
    "legal_basis": "Prison Act 1952, section 40D (images transmitted from inside a prison).",
    "contact": "Digital investigations unit, du@prisons.example, 0300 000 0000",
    "good_faith_statement": GOOD_FAITH_STATEMENT,
    "evidence": [{"number": 1, "sha256": "0" * 64, "post_url": "https://www.instagram.com/p/AbCdEf/",
                  "posted_at": "2026-11-19 21:15 UTC", "captured_at": "2026-11-19 21:10 UTC",
                  "frame_of": None},
                 {"number": 2, "sha256": "1" * 64, "post_url": "", "posted_at": "",
                  "captured_at": "", "frame_of": {"video": "V1", "at": "0:07"}}],
    # each video the pack's frames come from or the drafter cited; a frame names its video
    "videos": [{"number": "V1", "video_id": 7, "sha256": "2" * 64,
                "post_url": "https://www.instagram.com/reel/GhIjKl/",
                "posted_at": "2026-11-19 22:40 UTC", "length": "0:15", "cited": True}],
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
{% if item.frame_of %}
   a frame at {{ item.frame_of.at }} of video {{ item.frame_of.video }}
{% endif %}
{% endfor %}
{% if videos %}

Videos ({{ videos | length }}). The videos themselves are not attached; the manifest gives the
SHA-256 of each original as captured.
{% for video in videos %}
{{ video.number }}. {{ video.post_url or "post address not known" }}
   posted {{ video.posted_at or "time not known" }}, {{ video.length }} long,
   SHA-256 {{ video.sha256 }}
{% endfor %}
{% endif %}
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


class _TooCostly(Exception):
    pass


def _bounded(template: Template, context: dict[str, Any]) -> str:
    """Render within the step, time and size budgets (module docstring)."""
    steps = 0
    deadline = time.monotonic() + MAX_RENDER_SECONDS

    def count(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal steps
        steps += 1
        if steps > MAX_TEMPLATE_STEPS or (steps % 512 == 0 and time.monotonic() > deadline):
            raise _TooCostly
        return count

    def calls(frame: FrameType, event: str, arg: Any) -> Any:
        return count if frame.f_code.co_filename == "<template>" else None

    parts, size = [], 0
    previous = sys.gettrace()
    sys.settrace(calls)
    try:
        for piece in template.generate(context):
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                raise Unprocessable("The notice template produces a notice that is too long.")
            parts.append(piece)
    finally:
        sys.settrace(previous)
    return "".join(parts)


def render(text: str, context: dict[str, Any]) -> str:
    """Render a template; any failure of the template itself is a 422 that says why."""
    template = compile_template(text)
    try:
        out = _bounded(template, context)
    except _TooCostly:
        raise Unprocessable("The notice template does too much work (loops within loops?): "
                            f"a notice may take at most {MAX_TEMPLATE_STEPS:,} steps and "
                            f"{MAX_RENDER_SECONDS:g} s to write.") from None
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


def _worst_case() -> dict[str, Any]:
    """A takedown as large as they come: many addresses and images, a late reminder, long
    texts (a template that is costly only for such takedowns is refused on save too)."""
    urls = [f"https://www.instagram.com/p/Post{n:04d}/" for n in range(50)]
    return {**SAMPLE_CONTEXT, "notice_number": 12, "urls": urls,
            "reason": "Photographs taken inside a prison cell. " * 45,
            "evidence": [{**SAMPLE_CONTEXT["evidence"][n % 2], "number": n + 1, "post_url": url}
                         for n, url in enumerate(urls * 4)],
            "videos": [{**SAMPLE_CONTEXT["videos"][0], "number": f"V{n + 1}", "post_url": url}
                       for n, url in enumerate(urls[:20])]}


def validate(text: str) -> None:
    """Refuse a template that does not compile, does not render within its budgets with the
    sample values and with a worst-case takedown, or leaves out what a platform needs."""
    check_complete(render(text, SAMPLE_CONTEXT), SAMPLE_CONTEXT)
    render(text, _worst_case())


def subject(reference: str, platform_name: str, handle: str, number: int,
            platform_reference: str = "") -> str:
    text = f"Takedown request {reference}: {platform_name} account {handle}"
    if number > 1:
        text += f" (reminder {number})"
    if platform_reference:
        text += f" [your ref {platform_reference}]"
    return text[:255]
