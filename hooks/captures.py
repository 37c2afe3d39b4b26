"""MkDocs hook: show the real output of the pages' examples (the work is done by ``doclab``)."""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import time
from html import escape
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from watchdog.events import FileSystemEventHandler
from watchdog.observers.polling import PollingObserver

from doclab.capture.ahead import RunAhead
from doclab.capture.captures import Captures, Outcome, Resolved, first_edited_capture, inputs_key, with_engine_records
from doclab.errors import DoclabError
from doclab.daemon.guard import HOW_TO_RUN_LIVE
from doclab.page.parse import PageError, parse_page, read_page
from doclab.render.quotes import check_quotes, replace_quotes
from doclab.render.markers import cast_name, replace_markers
from doclab.render import replay
from doclab.settings import Settings

log = logging.getLogger("mkdocs.hooks.captures")
captures: Captures | None = None
#: Under ``mkdocs serve``: recaptures a page the moment an edit to it is saved.
run_ahead: RunAhead | None = None
_written: dict = {}
#: The pages as the previous build read them: what an edit changed is what differs from them.
_previous: dict = {}
#: The pages running when this build began (under serve: ahead of the edit that started it).
_running: set = set()
#: The replays this build's pages offer ("Watch it run"): where in the site → asciicast; written after the build.
_casts: dict = {}
#: Folders this process made, removed when it ends.
_temporary: list = []
#: How often ``mkdocs serve`` looks for edits (MkDocs' own is 0.5 s).
EDIT_POLL_SECONDS = 0.1


def on_config(config):
    global captures
    captures = Captures(Settings.from_env(project_root=Path(config.config_file_path).parent))


def on_serve(server, config, builder):
    """See an edit within a tenth of a second, not MkDocs' half second, and start its page's run at once: an author
    waits for every recapture. Still a polling observer (it sees edits where inotify cannot: network and container
    mounts); a poll of the watched folders costs about a millisecond."""
    global run_ahead
    watched = [path for path in (config.docs_dir, config.config_file_path) if path]
    for path in watched:  # what MkDocs watched before calling this hook; the rest (``watch:``) comes after
        server.unwatch(path)
    server.observer = PollingObserver(timeout=EDIT_POLL_SECONDS)
    for path in watched:
        server.watch(path)
    # A page shown in part (its edited block run, the rest still running) asks for the build that shows it whole:
    # MkDocs rebuilds when a watched file changes, and this folder, the project's own, has only that file.
    rebuilt_when = Path(tempfile.mkdtemp(prefix="doclab-serve-rebuild-"))
    server.watch(str(rebuilt_when))
    _temporary.append(rebuilt_when)
    run_ahead = RunAhead(captures.settings, Path(config.docs_dir), sorted(_written), log.info,
                         rebuild=lambda: (rebuilt_when / "run-ended").write_text(f"{time.time()}\n"))
    edited = FileSystemEventHandler()
    edited.on_any_event = lambda event: event.is_directory or run_ahead.edited()
    for path in (config.docs_dir, captures.settings.snippets_dir):
        server.observer.schedule(edited, str(path), recursive=True)
    return server


def on_shutdown():
    if run_ahead is not None:
        run_ahead.stop()
    for folder in _temporary:
        shutil.rmtree(folder, ignore_errors=True)


def on_pre_build(config):
    captures.refresh()
    captures.pages_run.clear()
    _casts.clear()


def on_post_build(config):
    """Each replay as an asciicast v2 file and the screens the player shows (drawn here, by the terminal emulator that
    drew the captured screen, so the last one is that screen)."""
    for name, cast in _casts.items():
        target = Path(config["site_dir"]) / "casts" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.with_name(target.name + ".cast").write_text(replay.asciicast_text(cast))
        player = {"command": cast["command"], "width": cast["width"], "height": cast["height"], "frames": replay.frames(cast)}
        target.with_name(target.name + ".frames.json").write_text(json.dumps(player, ensure_ascii=False, separators=(",", ":")))


def on_files(files, config):
    """Resolve every page before any is rendered: the pages that must run do so at the same time. A page that runs now
    for another build (under serve: ahead of the edit that started this build) is resolved when MkDocs reaches it, and
    comes last: the other pages are rendered while its commands run."""
    pages = []
    _previous.clear()
    _previous.update(_written)
    _written.clear()
    for file in files.documentation_pages():
        try:
            pages.append(parse_file(file))
        except PageError:
            continue  # reported by on_page_markdown, with the page it belongs to
    running = {page.path for page in pages
               if page.captures and (captures.store.being_run(page.path) or left_to_the_run_ahead(page))}
    _running.clear()
    _running.update(running)
    if running:
        files = Files([file for file in files if file.src_uri not in running] +
                      [file for file in files if file.src_uri in running])
        log.info("captures: %s running now (ahead of an edit, or for another build): rendered last, once it ends",
                 ", ".join(sorted(running)))
    # A page whose run after the edit failed is not run again: its page shows why (``shown_so_far``).
    failed_ahead = {page.path for page in pages if page.captures and run_ahead is not None and run_ahead.failed(page)}
    started = time.monotonic()
    try:
        outcomes = captures.resolve_all([page for page in pages if page.captures and page.path not in running | failed_ahead])
    except KeyboardInterrupt:
        log.error("captures: interrupted: the pages that were running were stopped, nothing of them was recorded, "
                  "and their daemons were given back")
        raise
    states = [getattr(outcome, "state", "failed") for outcome in outcomes.values()] + ["failed"] * len(failed_ahead)
    log.info(
        "captures: %d live, %d cached, %d recorded, %d failed in %.3f s%s", states.count("live"), states.count("cached"),
        states.count("recorded"), states.count("failed"), time.monotonic() - started,
        f" (ran {', '.join(sorted(captures.pages_run))})" if captures.pages_run else "",
    )
    if "recorded" in states and not captures.settings.recorded:
        log.info("captures: %d page(s) show the outputs of their last clean run, labelled as such; %s",
                 states.count("recorded"), HOW_TO_RUN_LIVE)
    return files


def left_to_the_run_ahead(page) -> bool:
    """Under serve, a page an edit changed is the run ahead's to run while a pass runs or is due (it may not have taken
    the page's lock yet): a build that ran it too would run it twice."""
    if run_ahead is None or not run_ahead.busy:
        return False
    try:
        recorded = captures.store.load(page.path)
    except DoclabError:
        return True  # not a record: the run ahead makes one
    return recorded is None or recorded.inputs_key != inputs_key(page)


def parse_file(file):
    """The page as written, parsed once per build (the hook needs it at files, markdown and content time)."""
    if file.src_uri not in _written:
        path = Path(file.abs_src_path)
        docs_dir = path.parents[len(Path(file.src_uri).parts) - 1]  # the folder src_uri is relative to
        _written[file.src_uri] = read_page(path, docs_dir, captures.settings.snippets_dir)
    return _written[file.src_uri]


def on_page_markdown(markdown, page, config, files):
    try:
        # The file as written is what runs and what errors cite (the tests read it the same way);
        # the markdown as mkdocs-macros left it is where the markers are replaced.
        written = parse_file(page.file)
        if not written.captures and "<!--" not in markdown:
            return markdown  # no block to capture and no marker: nothing of doclab's on this page
        parsed = parse_page(markdown, page.file.src_uri, captures.settings.snippets_dir)
        if written.captures:
            resolved = shown_so_far(written) or captures.resolve(written)
            if resolved.state is Outcome.RECORDED:
                # INFO, not WARNING: a recorded output is the designed fallback, and --strict fails on warnings.
                log.info("%s: RECORDED output shown (its last clean run): %s", page.file.src_uri, resolved.reason)
            elif resolved.state is Outcome.CACHED:
                log.debug("%s: captures cached", page.file.src_uri)  # the build's summary line counts them
            elif resolved.state is Outcome.RUNNING:
                log.info("%s: captures shown as far as the run after the edit has gone (%s); built again when it ends",
                         page.file.src_uri, ", ".join(resolved.record.captures))
            else:
                log.info("%s: captures %s", page.file.src_uri, resolved.state)
            markdown = replace_markers(markdown, parsed, resolved)
            _casts.update({cast_name(written.path, capture_id): capture.cast
                           for capture_id, capture in resolved.record.captures.items() if capture.cast})
        check_quotes(written, captures.record_of)  # first, on the file as written: its errors cite the file's lines
        return replace_quotes(markdown, parsed, captures.record_of)
    except (PageError, DoclabError) as error:
        said = f"docs/{error}" if isinstance(error, PageError) else str(error)
        if not captures.settings.serving:
            raise PluginError(said) from None
        # Under scripts/serve the error goes on the page, so the author's browser shows it instead of waiting for a
        # build that succeeds (MkDocs holds its requests until then); a build for publishing or the tests still fails.
        log.info("%s: FAILED, shown on the page while scripts/serve runs:\n%s", page.file.src_uri, said)
        return (f'<div class="admonition failure" role="alert"><p class="admonition-title">This page did not build: '
                f'scripts/serve shows why here, a build for publishing stops at it</p><pre>{escape(said)}</pre></div>'
                f"\n\n{markdown}")


def shown_so_far(written) -> Resolved | None:
    """Under serve, a page running after an edit as far as its run has gone, once the output the edit changed is made
    (the author sees it without waiting for the blocks after it); None when the build is to wait for the whole run.
    A run after the edit that failed raises its error (shown on the page), instead of the page running again."""
    if run_ahead is None:
        return None
    if written.path in _running:
        record = run_ahead.so_far(written, first_edited_capture(_previous.get(written.path), written))
        if record is not None:
            return with_engine_records(captures.settings, written, Resolved(record, Outcome.RUNNING))
    failure = run_ahead.failed(written)
    if failure is not None:
        raise failure
    return None


def on_post_page(output, page, config):
    """Under scripts/serve with the lab, a page with a live-terminal panel learns where the terminals are."""
    if not captures.settings.live_terminal or 'class="doclab-live"' not in output:
        return output
    meta = f'<meta name="doclab-live" content="{escape(captures.settings.live_terminal)}">'
    return output.replace("</head>", meta + "</head>", 1)


def on_page_content(html, page, config, files):
    """Quotes inside blocks a plugin renders itself (the quiz's questions) reach the HTML as comments."""
    if "<!-- quote:" not in html:
        return html
    try:
        return replace_quotes(html, parse_file(page.file), captures.record_of)
    except PageError as error:
        raise PluginError(f"docs/{error}") from None
    except DoclabError as error:
        raise PluginError(str(error)) from None
