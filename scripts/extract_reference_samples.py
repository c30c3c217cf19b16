"""Extract the JSON/HTTP samples of the UCWA 2.0 reference pages into test fixtures.

Usage::

    python scripts/extract_reference_samples.py /work/shared/ucwa-reference tests/fixtures/reference

For every page in ``PAGES`` the script walks the Markdown, takes each fenced code block that
carries a JSON (or body-less) HTTP sample, plus the unfenced event samples of the ``*_ref``
pages ("Events" section), splits the HTTP start line and headers from the body and writes one
``<page-stem>__<section-slug>.json`` file per sample::

    {"source": "<page>.md", "section": "<heading>",
     "http": {"status": 201, "reason": "Created", "headers": {...}}
             | {"method": "Post", "url": "...", "headers": {...}} | null,
     "body": <parsed JSON> | null,
     "repairs": ["html-entities", ...]}

Only the documented sample defects are repaired (HTML entities, ``tel : +`` / ``sip : ``
spacing, trailing commas, one header broken over lines); each repair is named in
``repairs``. Multipart (batch) samples and the 401 challenge samples are copied verbatim as
``.txt`` files. XML samples are skipped. Blocks that still do not parse are reported and
skipped, never hand-edited. The fixture README.md (with its index) is regenerated as well.

Standard library only.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import json
from pathlib import Path
import re
import sys

PAGES: tuple[str, ...] = (
    "root_ref",
    "user_ref",
    "redirect_ref",
    "applications_ref",
    "application_ref",
    "me_ref",
    "makeMeAvailable_ref",
    "makeMeAvailable2_ref",
    "reportMyActivity_ref",
    "communication_ref",
    "events_ref",
    "batch_ref",
    "conversationLogs_ref",
    "conversationLog_ref",
    "conversationLogRecipient_ref",
    "conversationLogTranscripts_ref",
    "conversationLogTranscript_ref",
    "nextConversationLogTranscripts_ref",
    "markAsRead_ref",
    "missedItems_ref",
    "continuePhoneAudio_ref",
    "startPhoneAudio_ref",
    "phoneAudioInvitation_ref",
    "phoneAudio_ref",
    "conversation_ref",
    "ErrorsAndInformationalMessages",
    "EventsInUCWA",
    "EventChannelDetails",
    "OperationResource",
    "CreateAnApplication",
    "AuthenticationInUCWA",
    "RootURL",
    "BatchingRequests",
    "Versioning",
    "presence_ref",
    "note_ref",
    "location_ref",
    "GetMyPresenceInformation",
    "SetMyPresenceInformation",
    "ResetMyPresenceInformation",
    "ReceiveAnIM",
)

# Header-only or body-less blocks that the client parser tests use verbatim (task: 401 challenge).
VERBATIM_BLOCKS: frozenset[tuple[str, str]] = frozenset(
    {
        ("CreateAnApplication", "Step 4"),
        ("AuthenticationInUCWA", "Authentication Flow"),
        # The application after makeMeAvailable: its JSON elides parts (`"people":{...}`), but
        # the links of its embedded `me` are what the simulator's me is compared with.
        ("GetMyPresenceInformation", "Step 4"),
    }
)

SOURCE_REPO = "OfficeDev/skype-docs-migration"
SOURCE_FOLDER = "SkypeSDK-ops-redirect/UCWA"
SOURCE_COMMIT = "0d281fa0ca19c582487057a1ac7be1b2240cbfb2"
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"

HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE_OPEN_RE = re.compile(r"^(\s*)```\s*([A-Za-z0-9_+-]*)\s*$")
FENCE_CLOSE_RE = re.compile(r"^\s*```\s*$")
STEP_RE = re.compile(r"^\s{0,3}(\d+)\.\s+\S")
LABEL_RE = re.compile(r"^\s*\*\*(Request|Response)\*\*\s*$")
STATUS_LINE_RE = re.compile(r"^HTTP/\d\.\d\s+(\d{3})(?:\s+(.*?))?\s*$")
REQUEST_LINE_RE = re.compile(r"^([A-Za-z]+)\s+(\S+)\s+HTTP/\d\.\d\s*$")
HEADER_RE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)\s*$")
ELISION_RE = re.compile(r"^\s*\.\s*$")
EVENT_SAMPLE_MARKER = "Sample of returned event data."

ENTITIES: tuple[tuple[str, str], ...] = (
    ("&quot;", '"'),
    ("&lt;", "<"),
    ("&gt;", ">"),
    ("&amp;", "&"),  # last, so "&amp;quot;" is not decoded twice
)
TEL_SPACE_RE = re.compile(r"\btel : \+")
SIP_SPACE_RE = re.compile(r"\bsip : ")

type Json = dict[str, Json] | list[Json] | str | int | float | bool | None


@dataclass
class Block:
    """One sample found in a page: a fenced code block or an unfenced event sample."""

    page: str
    section: str
    lines: list[str]
    lang: str = ""
    fenced: bool = True
    slug: str = ""


@dataclass
class Report:
    """What the run produced and what it left out."""

    written: list[tuple[str, Block]] = field(default_factory=list)
    skipped: list[tuple[Block, str]] = field(default_factory=list)
    failed: list[tuple[Block, str]] = field(default_factory=list)
    missing_pages: list[str] = field(default_factory=list)


class SampleError(ValueError):
    """A block that looks like a sample but cannot be turned into a fixture."""


def slugify(text: str) -> str:
    """Return a lower-case, dash-separated file-name fragment for a section name."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def dedent_fence(lines: list[str], indent: int) -> list[str]:
    """Remove the fence's own Markdown indentation (at most ``indent`` spaces) from each line."""
    out: list[str] = []
    for line in lines:
        lead = len(line) - len(line.lstrip(" "))
        out.append(line[min(lead, indent) :])
    return out


def balanced_json_end(lines: list[str], start: int) -> int:
    """Return the index of the line closing the JSON value that opens on ``lines[start]``."""
    depth = 0
    in_string = False
    escaped = False
    for index in range(start, len(lines)):
        for char in lines[index]:
            if in_string:
                if escaped:
                    escaped = False
                elif char == "\\":
                    escaped = True
                elif char == '"':
                    in_string = False
            elif char == '"':
                in_string = True
            elif char in "{[":
                depth += 1
            elif char in "}]":
                depth -= 1
                if depth == 0:
                    return index
    raise SampleError("unbalanced JSON in unfenced event sample")


def section_name(page: str, headings: dict[int, str], step: str, label: str) -> str:
    """Build the section label of a block from the headings above it."""
    levels = [headings[level] for level in sorted(headings) if level >= 2]
    if page.endswith("_ref"):
        parts = [text for text in levels if text not in {"Operations", "Examples"}]
    else:
        parts = levels[-1:]
    if step:
        parts.append(f"Step {step}")
    if label:
        parts.append(label)
    return " / ".join(parts) if parts else "Sample"


def find_blocks(page: str, text: str) -> list[Block]:
    """Return every fenced block and every unfenced event sample of a page, in order."""
    lines = text.splitlines()
    blocks: list[Block] = []
    headings: dict[int, str] = {}
    step = ""
    label = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = HEADING_RE.match(line)
        if heading:
            level = len(heading.group(1))
            headings = {lvl: txt for lvl, txt in headings.items() if lvl < level}
            headings[level] = heading.group(2).strip()
            step = ""
            label = ""
            index += 1
            continue
        if step_match := STEP_RE.match(line):
            step = step_match.group(1)
        if label_match := LABEL_RE.match(line):
            label = label_match.group(1)
        fence = FENCE_OPEN_RE.match(line)
        if fence:
            indent = len(fence.group(1))
            end = index + 1
            while end < len(lines) and not FENCE_CLOSE_RE.match(lines[end]):
                end += 1
            body = dedent_fence(lines[index + 1 : end], indent)
            blocks.append(
                Block(page, section_name(page, headings, step, label), body, fence.group(2))
            )
            index = end + 1
            continue
        if line.strip() == EVENT_SAMPLE_MARKER and headings.get(2) == "Events":
            start = index + 1
            while start < len(lines) and not lines[start].lstrip().startswith(("{", "```")):
                start += 1
            if start < len(lines) and FENCE_OPEN_RE.match(lines[start]):
                # Some pages fence their event samples (presence_ref.md): the fence is taken
                # as any other block, under the same "Events / <type>" section name.
                index = start
                continue
            end = balanced_json_end(lines, start)
            blocks.append(
                Block(
                    page,
                    f"Events / {headings.get(3, '')}".rstrip(" /"),
                    lines[start : end + 1],
                    fenced=False,
                )
            )
            index = end + 1
            continue
        index += 1
    assign_slugs(blocks)
    return blocks


def assign_slugs(blocks: list[Block]) -> None:
    """Give each block a unique slug; repeated sections are numbered 1..n in page order."""
    counts: dict[str, int] = {}
    for block in blocks:
        counts[block.section] = counts.get(block.section, 0) + 1
    seen: dict[str, int] = {}
    for block in blocks:
        if counts[block.section] > 1:
            seen[block.section] = seen.get(block.section, 0) + 1
            number = seen[block.section]
            block.slug = f"{slugify(block.section)}-{number}"
            block.section = f"{block.section} ({number})"
        else:
            block.slug = slugify(block.section)


def repair_text(text: str, repairs: list[str]) -> str:
    """Undo the documented HTML-entity and URI-spacing defects, naming each in ``repairs``."""
    found = [entity for entity, _ in ENTITIES if entity in text]
    if found:
        for entity, char in ENTITIES:
            text = text.replace(entity, char)
        repairs.append(f"html-entities ({' '.join(found)})")
    if TEL_SPACE_RE.search(text):
        text = TEL_SPACE_RE.sub("tel:+", text)
        repairs.append('tel-space ("tel : +" -> "tel:+")')
    if SIP_SPACE_RE.search(text):
        text = SIP_SPACE_RE.sub("sip:", text)
        repairs.append('sip-space ("sip : " -> "sip:")')
    return text


def strip_trailing_commas(text: str) -> tuple[str, int]:
    """Drop commas that directly precede ``}`` or ``]`` outside strings; return the count."""
    out: list[str] = []
    removed = 0
    in_string = False
    escaped = False
    for position, char in enumerate(text):
        if in_string:
            out.append(char)
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char == '"':
            in_string = True
        elif char == ",":
            rest = text[position + 1 :].lstrip()
            if rest[:1] in {"}", "]"}:
                removed += 1
                continue
        out.append(char)
    return "".join(out), removed


def parse_json_body(text: str, repairs: list[str]) -> Json:
    """Parse a JSON body, repairing trailing commas if (and only if) they are present."""
    text, removed = strip_trailing_commas(text)
    if removed:
        repairs.append(f"trailing-comma ({removed} removed)")
    try:
        value: Json = json.loads(text)
    except json.JSONDecodeError as err:
        line = text.splitlines()[err.lineno - 1].strip()
        raise SampleError(
            f"JSON body does not parse after repair: {err.msg} at line {err.lineno} ({line!r})"
        ) from err
    return value


def add_header(headers: dict[str, str | list[str]], name: str, value: str) -> None:
    """Store a header; a repeated header (e.g. two WWW-Authenticate) becomes a list."""
    existing = headers.get(name)
    if existing is None:
        headers[name] = value
    elif isinstance(existing, list):
        existing.append(value)
    else:
        headers[name] = [existing, value]


def is_multipart(lines: list[str]) -> bool:
    """Tell whether an HTTP message declares a multipart body."""
    return any(
        (match := HEADER_RE.match(line.strip())) is not None
        and match.group(1).lower() == "content-type"
        and match.group(2).lower().startswith("multipart/")
        for line in lines
    )


def parse_message(lines: list[str]) -> tuple[dict[str, Json], Json, list[str], str | None]:
    """Split an HTTP message into start line/headers and body; return http, body, repairs, text.

    The fourth item is the (repaired) body text when the body is present but not JSON,
    e.g. an ``application/x-www-form-urlencoded`` token request.
    """
    repairs: list[str] = []
    text = repair_text("\n".join(lines), repairs)
    rows = text.splitlines()
    while rows and not rows[0].strip():
        rows.pop(0)
    first = rows[0].strip()
    http: dict[str, Json]
    if status := STATUS_LINE_RE.match(first):
        http = {"status": int(status.group(1)), "reason": status.group(2) or ""}
    elif request := REQUEST_LINE_RE.match(first):
        http = {"method": request.group(1), "url": request.group(2)}
    else:
        raise SampleError(f"not an HTTP message: {first!r}")

    rest = rows[1:]
    body_start = next(
        (i for i, row in enumerate(rest) if row.lstrip().startswith(("{", "["))), None
    )
    if body_start is None:
        # No JSON: the body (if any) is whatever follows the last header line.
        last_header = max(
            (i for i, row in enumerate(rest) if HEADER_RE.match(row.strip())), default=-1
        )
        body_start = last_header + 1
    head, tail = rest[:body_start], rest[body_start:]
    # "." lines stand for headers the page left out; they belong to the header block.
    while tail and (not tail[0].strip() or ELISION_RE.match(tail[0])):
        head.append(tail.pop(0))
    elided = any(ELISION_RE.match(row) for row in head)

    headers: dict[str, str | list[str]] = {}
    last_name = ""
    for row in head:
        stripped = row.strip()
        if not stripped or ELISION_RE.match(row):
            continue
        header = HEADER_RE.match(stripped)
        if header:
            last_name = header.group(1)
            add_header(headers, last_name, header.group(2))
            continue
        if not last_name:
            raise SampleError(f"unexpected line before headers: {stripped!r}")
        # A header value broken over lines in the page (Set-Cookie ... secure; / HttpOnly).
        value = headers[last_name]
        if isinstance(value, list):
            value[-1] = f"{value[-1]} {stripped}"
        else:
            headers[last_name] = f"{value} {stripped}"
        repairs.append(f"header-continuation ({last_name}: joined {stripped!r})")
    http["headers"] = {k: (list(v) if isinstance(v, list) else v) for k, v in headers.items()}
    if elided:
        http["headers_elided"] = True

    body_text = "\n".join(tail).strip()
    if not body_text:
        return http, None, repairs, None
    if body_text.startswith(("{", "[")):
        return http, parse_json_body(body_text, repairs), repairs, None
    return http, None, repairs, body_text


def first_content_line(lines: list[str]) -> str:
    """Return the first non-blank line of a block, stripped."""
    return next((line.strip() for line in lines if line.strip()), "")


def classify(block: Block) -> str:
    """Return "json", "http", "text" (verbatim) or a skip reason starting with "skip:"."""
    first = first_content_line(block.lines)
    if (block.page, block.section) in VERBATIM_BLOCKS:
        return "text"
    if block.lang.lower() in {"xml", "html"}:
        return f"skip: {block.lang} code block"
    if "XML" in block.section.split(" / ")[-1]:
        return "skip: XML sample"
    if not first:
        return "skip: empty block"
    if first.startswith(("{", "[")):
        return "json"
    if STATUS_LINE_RE.match(first) or REQUEST_LINE_RE.match(first):
        if is_multipart(block.lines):
            return "text"
        if any(line.lstrip().startswith("<?xml") for line in block.lines):
            return "skip: XML body"
        return "http"
    return f"skip: not an HTTP/JSON sample (starts {first[:50]!r})"


def verbatim(lines: list[str]) -> str:
    """Return a block's text exactly as in the page (fence indentation removed)."""
    return "\n".join(lines) + "\n"


def build_fixture(block: Block) -> dict[str, Json]:
    """Turn a JSON or HTTP block into the fixture document."""
    kind = classify(block)
    http: Json = None
    body_text: str | None = None
    if kind == "json":
        repairs: list[str] = []
        body = parse_json_body(repair_text("\n".join(block.lines), repairs), repairs)
    else:
        http_dict, body, repairs, body_text = parse_message(block.lines)
        http = http_dict
    fixture: dict[str, Json] = {
        "source": f"{block.page}.md",
        "section": block.section,
        "http": http,
        "body": body,
    }
    if body_text is not None:
        fixture["body_text"] = body_text
    fixture["repairs"] = list(repairs)
    return fixture


def clean_output(out_dir: Path) -> None:
    """Remove fixtures written by an earlier run (only ``*__*.json`` / ``*__*.txt``)."""
    for pattern in ("*__*.json", "*__*.txt"):
        for path in out_dir.glob(pattern):
            path.unlink()


def extract(ref_dir: Path, out_dir: Path) -> Report:
    """Extract all samples of ``PAGES`` from ``ref_dir`` into ``out_dir``."""
    report = Report()
    out_dir.mkdir(parents=True, exist_ok=True)
    clean_output(out_dir)
    for page in PAGES:
        path = ref_dir / f"{page}.md"
        if not path.is_file():
            report.missing_pages.append(page)
            continue
        for block in find_blocks(page, path.read_text(encoding="utf-8")):
            kind = classify(block)
            if kind.startswith("skip:"):
                report.skipped.append((block, kind.removeprefix("skip: ")))
                continue
            if kind == "text":
                name = f"{page}__{block.slug}.txt"
                (out_dir / name).write_text(verbatim(block.lines), encoding="utf-8")
                report.written.append((name, block))
                if (page, block.section) not in VERBATIM_BLOCKS:
                    continue
                kind = classify_message(block)
                if kind != "http":
                    continue
            try:
                fixture = build_fixture(block)
            except SampleError as err:
                report.failed.append((block, str(err)))
                continue
            name = f"{page}__{block.slug}.json"
            (out_dir / name).write_text(
                json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            report.written.append((name, block))
    return report


def classify_message(block: Block) -> str:
    """Classify a verbatim block as "http" when it is also a full HTTP message."""
    first = first_content_line(block.lines)
    if STATUS_LINE_RE.match(first) or REQUEST_LINE_RE.match(first):
        return "http"
    return "text"


def describe(name: str, block: Block) -> str:
    """One README index row."""
    kind = "verbatim text" if name.endswith(".txt") else "JSON fixture"
    return f"| `{name}` | `{block.page}.md` | {block.section} | {kind} |"


README_TEMPLATE = """\
# UCWA 2.0 reference samples

The files in this folder are the request/response samples of the official Unified Communications
Web API (UCWA) 2.0 reference for Skype for Business Server 2015, copied so that the tests do not
depend on anything outside this repository.

## Source and licence

- Source: [{repo}](https://github.com/{repo}), folder `{folder}`, commit `{commit}`.
- Licence: Creative Commons Attribution 4.0 International (CC BY 4.0), {licence_url}.
  Copyright © Microsoft Corporation. No endorsement by Microsoft is implied.
- Changes: the sample bodies, headers and start lines are unchanged except for the repairs
  named in each JSON file's `"repairs"` list (see below). The `.txt` files are byte-for-byte
  copies of the code blocks, with only the Markdown list indentation of the fence removed.

## How they were made

Generated by `scripts/extract_reference_samples.py` (standard library only):

```
python scripts/extract_reference_samples.py /path/to/ucwa-reference tests/fixtures/reference
```

The script re-creates every `*__*.json` / `*__*.txt` file and this README. Do not edit the
fixtures by hand; fix the script and re-run it.

Each `<page>__<section>.json` file has the shape:

```
{{
  "source": "<page>.md",
  "section": "<heading path in the page>",
  "http": {{"status": 201, "reason": "Created", "headers": {{...}}}}
        | {{"method": "Post", "url": "...", "headers": {{...}}}}
        | null,                      # null: the page shows a bare JSON body
  "body": <parsed JSON> | null,       # null: no body, or a body that is not JSON
  "body_text": "...",                 # only when the body is present but not JSON (form posts)
  "repairs": ["..."]                  # empty when the sample was taken as is
}}
```

Notes:

- `method` is kept as the page writes it (`Get`, `Post`, `Options`, ...): compare it
  case-insensitively.
- A header that occurs twice (the two `WWW-Authenticate` challenges) is stored as a list of
  values; every other header value is a string. Header values are stripped of trailing blanks.
- Lines consisting only of `.` (AuthenticationInUCWA.md elides headers that way) are dropped;
  such messages carry `"headers_elided": true` in `http`.
- The event samples of the `*_ref` pages ("Events / Updated" etc.) are mostly not fenced in the
  pages; they are taken from the line "Sample of returned event data." to the closing brace, with
  `"http": null`. Where a page fences them (presence_ref.md), the fence is taken, under the same
  section name.
- Multipart (batch) samples are kept only as verbatim `.txt` files: they are `multipart/batching`
  messages, not JSON. The page text is reproduced as is (including the `<BR>` line breaks of
  `batch_ref.md` and the `?` lines and `{{ ... }}` placeholders of `BatchingRequests.md`).
  The `.txt` files use LF line endings, not CRLF.

## Repairs

Only the sample defects listed in the reference's ATTRIBUTION.md are repaired (the first four
rows), plus one header that the page breaks over a blank line (`Set-Cookie` in
CreateAnApplication.md step 10; it does not touch the JSON body):

| Repair | Meaning |
|:--|:--|
| `html-entities (...)` | `&quot;` `&lt;` `&gt;` `&amp;` decoded (the entities found are listed) |
| `tel-space` | `tel : +` → `tel:+` |
| `sip-space` | `sip : ` → `sip:` |
| `trailing-comma (n removed)` | a comma directly before `}}` or `]` removed |
| `header-continuation (...)` | a header value broken over lines in the page joined with one space |

Other sample oddities (placeholder hrefs such as `.../conversationLogs/conversationLog`, ids
that do not match between links, `Content-Length` values that do not match the body) are left
as published.

## Skipped blocks

{skipped}

## Index

| File | Page | Section | Kind |
|:--|:--|:--|:--|
{index}
"""


def write_readme(out_dir: Path, report: Report) -> None:
    """Write the fixture README with the source, licence, repairs and index."""
    failed = [f"- `{block.page}.md`, {block.section}: {reason}" for block, reason in report.failed]
    skipped_text = (
        "Code blocks that are XML, HTML, URL or URI-template fragments, or pseudo-HTTP are not\n"
        "samples the tests parse and are skipped. Blocks that look like JSON samples but do not\n"
        "parse even after the repairs are skipped, not hand-edited:\n\n"
        + ("\n".join(failed) if failed else "- none")
    )
    index = "\n".join(describe(name, block) for name, block in sorted(report.written))
    (out_dir / "README.md").write_text(
        README_TEMPLATE.format(
            repo=SOURCE_REPO,
            folder=SOURCE_FOLDER,
            commit=SOURCE_COMMIT,
            licence_url=LICENCE_URL,
            skipped=skipped_text,
            index=index,
        ),
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the extraction and print what was written, skipped and rejected."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("reference_dir", type=Path, help="folder holding the UCWA *.md pages")
    parser.add_argument("output_dir", type=Path, help="fixture folder to (re)write")
    args = parser.parse_args(argv)
    ref_dir: Path = args.reference_dir
    out_dir: Path = args.output_dir

    report = extract(ref_dir, out_dir)
    write_readme(out_dir, report)

    for name, _block in report.written:
        print(f"wrote   {name}")
    for block, reason in report.skipped:
        print(f"skipped {block.page}.md [{block.section}]: {reason}")
    for block, reason in report.failed:
        print(f"FAILED  {block.page}.md [{block.section}]: {reason}", file=sys.stderr)
    for page in report.missing_pages:
        print(f"missing {page}.md", file=sys.stderr)
    print(
        f"{len(report.written)} files written, {len(report.skipped)} blocks skipped, "
        f"{len(report.failed)} rejected, {len(report.missing_pages)} pages missing"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
