"""What each job does, as calls into the engine, the store and the disclosure rules. One function per kind,
`step(job_id, progress)`; each ends by writing its result and the job's `done` in one transaction."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from redactor.base import utcnow
from redactor.db import session_scope
from redactor.errors import BadInput, FootageDestroyed
from redactor.jobs import service
from redactor.jobs.models import Job, JobKind, JobStatus, KeepSet
from redactor.registry.footage import fetch, recording_file

log = logging.getLogger(__name__)


def open_store():
    from redactor.storage import open_store as _open

    return _open()


class _CountingEngine:
    """Wraps the detection engine to count frames for the progress report (pipeline.analyze takes no callback)."""

    def __init__(self, engine, tick: Callable[[], None]) -> None:
        self._engine, self._tick = engine, tick

    def detect(self, image):
        out = self._engine.detect(image)
        self._tick()
        return out

    def detect_batch(self, images):
        out = self._engine.detect_batch(images)
        for _ in images:
            self._tick()
        return out

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


def analyze_step(job_id: str, progress: service.Progress) -> None:
    from redactor.detect.engine import DetectionEngine
    from redactor.identify.embeddings import enrich_embeddings
    from redactor.media import probe
    from redactor.pipeline import analyze
    from redactor.registry.models import Recording

    with session_scope() as s:
        job = service.get(s, job_id, JobKind.analyze)
        rec = s.get(Recording, job.recording_id)
        if rec is None or rec.destroyed_at is not None:
            raise BadInput(f"recording {job.recording_id} does not exist or was destroyed")
        expires = rec.expires_at  # the row stays readable after the session (expire_on_commit=False)
    store = open_store()
    table_key = f"analyses/{job_id}.json"
    with tempfile.TemporaryDirectory(prefix="redactor-analyze-") as tmp, ExitStack() as stack:
        progress("fetch", force=True)
        video = stack.enter_context(recording_file(store, rec, Path(tmp) / "input.video"))
        info = probe(video)
        count = [0]

        def tick() -> None:
            count[0] += 1
            progress(done=count[0])

        segments = segments_wanted(job.params, info)
        if segments > 1 and os.environ.get("REDACTOR_BROKER"):
            # a long recording: one segment job each on the gpu queue, joined when the last of them is done
            from redactor.jobs.segments import plan

            table = _segments_joined(job_id, store, rec, video, progress, lambda: plan(video, segments))
            if table is None:
                return  # waiting for its segments (or failed with theirs)
        elif segments > 1:
            from redactor.jobs.segments import analyze_segmented  # one machine: a process a segment

            progress("analyze", 0, info.frames, force=True)
            table, _ = analyze_segmented(video, segments)
        else:
            progress("analyze", 0, info.frames, force=True)
            table = analyze(video, engine=_CountingEngine(DetectionEngine.for_video(), tick), show_progress=False)
        # Face embeddings now, while the video is at hand: a reviewer's photo is then compared at once
        # (POST .../proposals), and the identity guard of every render has its reference crops.
        progress("embed", force=True)
        enrich_embeddings(table, video)
        progress("store", force=True)
        table_path = Path(tmp) / "tracks.json"
        table.save(table_path)
        # The track table holds thumbnails of faces: it is footage-derived and expires with its recording.
        store.put(table_key, table_path, expires_at=expires, content_type="application/json")
    labels: dict[str, int] = {}
    for t in table.tracks:
        labels[t.label] = labels.get(t.label, 0) + 1
    with session_scope() as s:
        job = service.get(s, job_id, lock=True)
        if job.status == JobStatus.running:
            service.finish(s, job, {"table_key": table_key, "frames": table.frames, "tracks": len(table.tracks),
                                    "labels": labels, "models": table.models})
            return
    _discard(store, table_key)


def segments_wanted(params: dict, info) -> int:
    """How many segments an analysis is cut into: the job's `segments`, else one per REDACTOR_SEGMENT_MINUTES of
    footage (default 10; 0 never cuts)."""
    if params.get("segments"):
        return max(1, int(params["segments"]))
    minutes = float(os.environ.get("REDACTOR_SEGMENT_MINUTES", "10") or 0)
    if minutes <= 0 or not info.fps:
        return 1
    return max(1, round(info.frames / (minutes * 60 * info.fps)))


def _send(job_id: str, kind: str) -> None:
    from workers.celery_app import app

    app.send_task(f"redactor.{kind}", args=[job_id], queue=service.QUEUES[kind])


def _segments_joined(job_id: str, store, rec, video: Path, progress: service.Progress, make_plan):
    """The parent's side of a segmented analysis. First run: plan, make one segment job per segment, queue them, and
    put the parent back to wait (waiting is not one of its starts). Run again by its last segment: the segments'
    tracks stitched into one table. A failed segment fails the analysis with its reason."""
    from redactor.hashing import sha256_file
    from redactor.jobs.segments import Plan, stitch

    states = _segment_states(job_id)
    if not states:
        p = make_plan()
        progress("segments", 0, p.frames, force=True)
        _queue_segments(job_id, rec.id, p, [seg.index for seg in p.segments], f"segments 0/{len(p.segments)}",
                        lambda i: {})
        return None
    failed = [(cid, err) for cid, status, err, _, _ in states if status in (JobStatus.failed, JobStatus.blocked)]
    if failed:
        raise BadInput(f"segment job {failed[0][0]} failed: {service.last_line(failed[0][1])}")
    if any(status != JobStatus.done for _, status, _, _, _ in states):
        with session_scope() as s:
            _wait(service.get(s, job_id, lock=True), "segments")
        return None
    p = Plan.from_json(states[0][4]["plan"])
    progress("join", p.frames, p.frames, force=True)
    parts = []
    for _, _, _, result, _ in states:
        parts.append(json.loads(b"".join(store.get(result["key"]))))
    info = probe_video(video)
    meta = info.to_json() | {"sha256": sha256_file(video), "frames": p.frames, "location": str(Path(video).resolve())}
    table = stitch(meta, p, parts)
    for _, _, _, result, _ in states:
        store.delete(result["key"])  # the joined table holds it all now
    return table


def probe_video(video: Path):
    from redactor.media import probe

    return probe(video)


def _wait(job: Job, step: str) -> None:
    """Put a running job back to wait for its segments: queued again, and this start not counted."""
    job.status, job.step = JobStatus.queued.value, step
    job.attempts = max(0, job.attempts - 1)


def segment_step(job_id: str, progress: service.Progress) -> None:
    """One segment of a long recording: of its analysis (tracks and motion stored for the join), or of its render
    (the segment's own frames masked, encoded and audited; the encoded part stored for the join). The parent is
    queued again when this was the last segment of its round to finish."""
    from redactor.detect.engine import DetectionEngine
    from redactor.jobs.segments import Plan, add_findings, analyze_segment, audit_request, render_segment
    from redactor.registry.models import Recording
    from redactor.review.service import read_table

    with session_scope() as s:
        job = service.get(s, job_id, JobKind.segment)
        params, parent_id = job.params, job.parent_id
        rec = s.get(Recording, job.recording_id)
        if rec is None or rec.destroyed_at is not None:
            raise BadInput(f"recording {job.recording_id} does not exist or was destroyed")
        expires = rec.expires_at
    p, index = Plan.from_json(params["plan"]), int(params["index"])
    seg = p.segments[index]
    rendering = params.get("render")
    store = open_store()
    key = job.object_key
    with tempfile.TemporaryDirectory(prefix="redactor-segment-") as tmp, ExitStack() as stack:
        progress("fetch", force=True)
        video = stack.enter_context(recording_file(store, rec, Path(tmp) / "input.video"))
        if rendering is None:
            progress("analyze", 0, seg.read_to - seg.read_from, force=True)
            count = [0]

            def tick() -> None:  # progress and heartbeat: the lease holds while the segment runs
                count[0] += 1
                progress(done=count[0])

            part = analyze_segment(video, p, index, engine=_CountingEngine(DetectionEngine.for_video(), tick))
            path = Path(tmp) / "part.json"
            path.write_text(json.dumps(part))
            store.put(key, path, expires_at=expires, content_type="application/json")
            result = {"key": key, "index": index, "frames": seg.end - seg.start}
        else:
            table = read_table(store, rendering["table_key"])
            for found in rendering["findings"]:  # the earlier rounds' findings, masked (segments.remask)
                add_findings(table, found)
            only = set(rendering["only"]) if rendering["only"] is not None else None
            progress("render", 0, seg.end - seg.start, force=True)
            path = Path(tmp) / "part.mp4"
            part = render_segment(video, table, p, index, path, (), rendering["style"],
                                  audit=audit_request(table, only), on_frame=lambda n: progress(done=n))
            store.put(key, path, expires_at=expires, content_type="video/mp4")
            result = {"object_key": key, "index": index, "frames": part["frames"], "round": rendering["round"],
                      "findings": part["findings"], "audited": part["audited"]}
    round_of = _round_of(params)
    last = False
    with session_scope() as s:
        parent = service.get(s, parent_id, lock=True)  # the parent first: siblings finishing together queue up here
        job = service.get(s, job_id, lock=True)
        if job.status != JobStatus.running:
            store.delete(key)
            return
        service.finish(s, job, result)
        siblings = [c for c in s.query(Job).filter(Job.parent_id == parent_id, Job.kind == JobKind.segment).all()
                    if _round_of(c.params) == round_of]
        done = sum(1 for c in siblings if c.status == JobStatus.done)
        if parent.status not in service.FINAL:
            parent.frames_done = min(parent.frames_total or p.frames, parent.frames_done + seg.end - seg.start)
            parent.step = f"{'render ' if rendering else ''}segments {done}/{len(siblings)}"
        last = done == len(siblings) or any(c.status in (JobStatus.failed, JobStatus.blocked) for c in siblings)
        parent_kind = parent.kind
    if last:
        _send(parent_id, parent_kind)


def wake_parent(job_id: str) -> None:
    """A segment job that ended without its part (failed, or not run again after its starts ran out) queues its
    parent again, which then fails with the segment's reason: a parent never waits for a segment that will not
    come."""
    with session_scope() as s:
        job = service.get(s, job_id)
        if job.kind != JobKind.segment or job.status not in (JobStatus.failed, JobStatus.blocked) or not job.parent_id:
            return
        parent = service.get(s, job.parent_id)
        if parent.status in service.FINAL:
            return
        parent_id, kind = parent.id, parent.kind
    _send(parent_id, kind)


def _round_of(params: dict) -> int:
    """A segment job's round: 0 for an analysis and a render's first pass, n for its n-th re-mask round."""
    return int((params.get("render") or {}).get("round", 0))


def _discard(store, key: str) -> None:
    """A job stopped while it ran (its footage destroyed meanwhile): what it stored goes too."""
    log.info("job output %s discarded: the job was stopped", key)
    store.delete(key)


def identity_summary(events: list[dict], masked: list[dict]) -> dict:
    """What the render's status says of the identity guard: verified, or how many of the kept tracks' frames were
    masked because they could not be confirmed as the requester (redactor.identify.guard), and the swaps found."""
    frames = sum(len(m.get("frames", [])) for m in masked)
    return {"verified": not masked, "unverified_frames": frames, "masked_for_identity": len(masked),
            "swaps": sum(1 for e in events if "mismatch" in str(e.get("event", "")))}


def render_step(job_id: str, progress: service.Progress) -> None:
    """Render a keep-set as the command line's `redact` does: the identity guard first (kept tracks checked face by
    face against the requester: redactor.identify.guard), then mask, encode and the audit. The table is the
    analysis's latest revision (manual boxes, splits).

    A long recording with nothing kept (everyone masked) is rendered in segments (issue 18): on the `gpu` queue one
    segment job each, any worker (`_render_segments`), else a process each (`segments.redact_segmented`). A
    keep-set renders in one piece: the identity guard follows the kept tracks frame by frame through the clip."""
    from redactor.identify.confirm import confirmations_for
    from redactor.identify.guard import guard_for
    from redactor.media import probe
    from redactor.pipeline import redact
    from redactor.registry.models import Recording
    from redactor.review.service import latest_consent, read_table, table_key

    with session_scope() as s:
        job = service.get(s, job_id, JobKind.render)
        params = job.params
        keep_set = s.get(KeepSet, params.get("keep_set_id"))
        if keep_set is None:
            raise BadInput(f"no keep-set {params.get('keep_set_id')}")
        analysis = service.get(s, keep_set.analysis_id, JobKind.analyze)
        rec = s.get(Recording, analysis.recording_id)
        if rec is None or rec.destroyed_at is not None:
            raise BadInput(f"recording {analysis.recording_id} does not exist or was destroyed")
        keep, expires = keep_set.tracks, rec.expires_at
        style = params.get("style", "solid")
        tkey, revision = table_key(s, analysis)
        consent = latest_consent(s, analysis.id)
        consent = consent.record | {"id": consent.id} if consent is not None else None
        confirmed = confirmations_for(s, keep_set.id)
        wanted = analysis.params | params
    ctx = _RenderContext(job_id, rec.id, expires, tkey, revision, style, consent)
    store = open_store()
    if _segment_states(job_id):  # run again by its last segment: the next re-mask round, or the join
        _render_segments(ctx, store, progress)
        return
    with tempfile.TemporaryDirectory(prefix="redactor-render-") as tmp, ExitStack() as stack:
        progress("fetch", force=True)
        table = read_table(store, tkey)
        video = stack.enter_context(recording_file(store, rec, Path(tmp) / "input.video"))
        out = Path(tmp) / "render.mp4"
        segments = segments_wanted(wanted, probe(video)) if not keep else 1
        if segments > 1 and os.environ.get("REDACTOR_BROKER"):
            _render_segments(ctx, store, progress, video=video, segments=segments)
            return
        if segments > 1:  # one machine: a process a segment, each encoding its part, joined without re-encoding
            from redactor.jobs.segments import redact_segmented

            progress("render", 0, table.frames, force=True)
            report = redact_segmented(video, out, segments, [], style, table=table)
            _render_done(ctx, store, out, _render_result(ctx, report.kept, report.findings, report.frames,
                                                         report.remask_rounds, report.output_sha256, report.models,
                                                         segments=segments))
            return
        progress("identity", force=True)
        # Fail closed on identity (issue 14): every kept frame is verified as the requester or masked and listed. The
        # photo is never stored, so the reference is the kept tracks' own best crops (as `redactor redact --keep`)
        # with the clerk's confirmed frames; a render with no keep-set masks everyone and has no identity to check.
        guard = guard_for(table, keep, video, confirmed=confirmed)
        if guard is not None:
            keep = [*keep, *guard.prepare()]
        progress("render", 0, table.frames, force=True)
        count = [0]

        def hook(image, index):
            count[0] += 1
            progress("render" if count[0] <= table.frames else "re-render", done=count[0] % (table.frames + 1))
            return image

        report = redact(video, out, keep, style, table=table, hooks=[guard.restore, hook] if guard else [hook],
                        extra_masks=guard, verified=guard.verified if guard else None, show_progress=False)
        identity = guard.events if guard else []
        masked_for_identity = guard.masked_frames() if guard else []
        result = _render_result(ctx, report.kept, report.findings, report.frames, report.remask_rounds,
                                report.output_sha256, report.models, identity, masked_for_identity)
        _render_done(ctx, store, out, result)


@dataclass(frozen=True)
class _RenderContext:
    job_id: str
    recording_id: int
    expires: dt.datetime | None
    table_key: str  # the table revision the render started from: every segment and round renders the same one
    revision: int
    style: str
    consent: dict | None


def _render_result(ctx: _RenderContext, kept: list[int], findings: list[dict], frames: int, rounds: int,
                   output_sha256: str | None, models: dict, identity: list[dict] | None = None,
                   masked_for_identity: list[dict] | None = None, segments: int = 1) -> dict:
    identity, masked_for_identity = identity or [], masked_for_identity or []
    result = {"kept": kept, "findings": findings, "frames": frames, "remask_rounds": rounds,
              "released": not findings, "style": ctx.style, "output_sha256": output_sha256, "models": models,
              "table_revision": ctx.revision, "identity": identity, "masked_for_identity": masked_for_identity,
              "identity_check": identity_summary(identity, masked_for_identity), "consent": ctx.consent}
    if segments > 1:
        result["segments"] = segments
    return result


def _render_done(ctx: _RenderContext, store, out: Path | None, result: dict) -> None:
    """A render's end, split or not: blocked when the audit still finds faces or plates (nothing stored for
    release), else the masked clip stored and the job done, in one transaction."""
    if not result["released"]:
        # Fail closed: the audit found faces or plates outside the kept tracks; nothing is stored for release.
        with session_scope() as s:
            job = service.get(s, ctx.job_id, lock=True)
            job.error = f"the audit found {len(result['findings'])} unmasked faces or plates: review before release"
            service.finish(s, job, result, JobStatus.blocked, step="blocked")
        return
    render_key = f"renders/{ctx.job_id}.mp4"
    store.put(render_key, out, expires_at=ctx.expires, content_type="video/mp4")
    result["object_key"] = render_key
    with session_scope() as s:
        job = service.get(s, ctx.job_id, lock=True)
        if job.status == JobStatus.running:
            verified = result["identity_check"]["verified"]
            service.finish(s, job, result, step="done" if verified else "done: identity unverified")
            return
    _discard(store, render_key)


def _segment_states(job_id: str) -> list[tuple[str, str, str, dict, dict]]:
    """(id, status, error, result, params) of a job's segment jobs, oldest first."""
    with session_scope() as s:
        children = (s.query(Job).filter(Job.parent_id == job_id, Job.kind == JobKind.segment)
                    .order_by(Job.created_at).all())
        return [(c.id, c.status, c.error, c.result, c.params) for c in children]


def _queue_segments(parent_id: str, recording_id: int, p, indices: list[int], step: str, extra) -> None:
    """One segment job per index, made and the parent put back to wait in one transaction, then sent."""
    with session_scope() as s:
        parent = service.get(s, parent_id, lock=True)
        made = [service.create(s, JobKind.segment, parent.created_by,
                               {"plan": p.to_json(), "index": i} | extra(i), recording_id=recording_id,
                               parent_id=parent_id).id for i in indices]
        _wait(parent, step)
    for child_id in made:
        _send(child_id, JobKind.segment)


def _render_segments(ctx: _RenderContext, store, progress: service.Progress, video: Path | None = None,
                     segments: int = 0) -> None:
    """The parent's side of a render in segment jobs. First run (`video` given): plan at keyframes, one segment job
    each (mask, encode, audit its own frames), and wait. Run again by the last segment of a round: the audit's
    findings, if any, are masked in the segments they touch, which alone render again (as many rounds as
    `pipeline.redact` would: audit.remask_again); then every segment's latest part is joined in order without
    re-encoding (segments.join) and stored, or, if the audit still objects, the render is blocked and nothing
    stored. A failed segment fails the render and its parts are deleted."""
    from redactor.audit import Finding, audit_masks, remask_again
    from redactor.hashing import sha256_file
    from redactor.jobs.segments import Plan, add_findings, join, part_results, plan, remask
    from redactor.review.service import read_table

    def render_params(round_: int, findings: list[list[dict]], only: set[int] | None, p):
        def extra(i: int) -> dict:
            seg = p.segments[i]
            mine = sorted(f for f in only if seg.start <= f < seg.end) if only is not None else None
            return {"render": {"table_key": ctx.table_key, "style": ctx.style, "round": round_,
                               "findings": findings, "only": mine}}
        return extra

    if video is not None:
        p = plan(video, segments)
        progress("render", 0, p.frames, force=True)
        _queue_segments(ctx.job_id, ctx.recording_id, p, [s.index for s in p.segments],
                        f"render segments 0/{len(p.segments)}", render_params(0, [], None, p))
        return
    states = _segment_states(ctx.job_id)

    def drop_parts() -> None:
        for _, status, _, result, _ in states:
            if status == JobStatus.done and result.get("object_key"):
                store.delete(result["object_key"])

    failed = [(cid, err) for cid, status, err, _, _ in states if status in (JobStatus.failed, JobStatus.blocked)]
    if failed:
        drop_parts()
        raise BadInput(f"segment job {failed[0][0]} failed: {service.last_line(failed[0][1])}")
    if any(status != JobStatus.done for _, status, _, _, _ in states):
        with session_scope() as s:
            _wait(service.get(s, ctx.job_id, lock=True), "render segments")
        return
    p = Plan.from_json(states[0][4]["plan"])
    last = max(st[4]["render"]["round"] for st in states)
    this_round = [st for st in states if st[4]["render"]["round"] == last]
    findings, _ = part_results([st[3] for st in this_round])
    _, audited = part_results([st[3] for st in states])
    earlier = this_round[0][4]["render"]["findings"]
    table = read_table(store, ctx.table_key)
    for found in earlier:
        add_findings(table, found)
    found = [Finding(f["frame"], f["label"], f["box"], f["score"]) for f in findings]
    if remask_again(found, last, audit_masks(table)):
        only, redo = remask(table, p, findings, audited)
        if redo:
            progress("re-render", 0, sum(p.segments[i].end - p.segments[i].start for i in redo), force=True)
            _queue_segments(ctx.job_id, ctx.recording_id, p, sorted(redo),
                            f"re-render {last + 1} segments 0/{len(redo)}",
                            render_params(last + 1, [*earlier, findings], only, p))
            return
    latest: dict[int, dict] = {}
    for _, _, _, result, params in sorted(states, key=lambda st: st[4]["render"]["round"]):
        latest[params["index"]] = result  # each segment's part of its latest round
    result = _render_result(ctx, [], findings, p.frames, last, None, table.models, segments=len(p.segments))
    if findings:
        drop_parts()
        _render_done(ctx, store, None, result)
        return
    progress("join", p.frames, p.frames, force=True)
    with tempfile.TemporaryDirectory(prefix="redactor-join-") as tmp:
        parts = [fetch(store, latest[s.index]["object_key"], Path(tmp) / f"part-{s.index}.mp4")
                 for s in p.segments]
        out = Path(tmp) / "render.mp4"
        written = join(parts, [s.start_time for s in p.segments], out)
        if written != p.frames:
            raise BadInput(f"the joined render has {written} frames of the recording's {p.frames}")
        result["output_sha256"] = sha256_file(out)
        _render_done(ctx, store, out, result)
    drop_parts()  # the joined render holds them all now


def release_step(job_id: str, progress: service.Progress) -> None:
    """Watermark (visible + forensic, naming the ledger entry), store with expiry, ledger row, release row: the
    ledger and release rows and the job's `done` commit together, after the object is stored. A crash before the
    commit leaves no row (the stored object is overwritten by the retry, under the same key)."""
    from redactor.access_log.service import record
    from redactor.disclosure.models import DisclosureRequest, Provision, Release
    from redactor.disclosure.service import check_release, provide, release_to_requester
    from redactor.registry.models import Recording
    from redactor.render.watermark_forensic import mark_clip
    from redactor.render.watermark_visible import mark_lines

    store = open_store()
    progress("release", force=True)  # the last report: from the ledger row on, this transaction holds the writes
    with session_scope() as s, tempfile.TemporaryDirectory(prefix="redactor-release-") as tmp:
        job = service.get(s, job_id, JobKind.release, lock=True)
        if job.status != JobStatus.running:
            return
        params = job.params
        key = f"releases/{job_id}.mp4"
        if s.query(Release).filter(Release.object_key == key).first() is not None:
            return  # recorded by an earlier delivery that died after its commit: never a second row
        render = service.get(s, params["render_id"], JobKind.render)
        req = s.get(DisclosureRequest, job.request_id) if job.request_id is not None else None
        prov = s.get(Provision, job.provision_id) if req is None else None
        # the same rules as when the release was asked for: the state may have changed since (a deletion, an
        # approver disabled)
        notice = check_release(s, render, request=req, provision=prov)
        analysis = service.get(s, render.parent_id, JobKind.analyze)
        rec = s.get(Recording, analysis.recording_id)
        now = utcnow()
        expires = now + dt.timedelta(days=int(params.get("expires_days", 7)))
        file = f"{rec.file_name if rec else 'clip'} / MP4(마스킹, 음성 없음)"
        if req is not None:
            rel = release_to_requester(s, req, released_by=job.created_by, object_key=key, file=file, recording=rec,
                                       expires_at=expires, now=now)
            reference, recipient = req.number, req.requester_name
        else:
            rel = provide(s, prov, released_by=job.created_by, object_key=key, file=file, recording=rec,
                          expires_at=expires, now=now)
            reference, recipient = f"제공 {prov.id}", prov.recipient_agency
        src = fetch(store, render.result["object_key"], Path(tmp) / "render.mp4")
        marked = Path(tmp) / "release.mp4"
        lines = mark_lines(f"{reference} · 관리대장 {rel.ledger_number}", recipient, now.date(), notice=notice)
        mark_clip(src, marked, rel.ledger_number, lines)
        store.put(key, marked, expires_at=expires, content_type="video/mp4")
        record(s, actor=job.created_by, action="release", target=f"release:{rel.id}", reason=f"render:{render.id}",
               request_id=job.request_id, provision_id=job.provision_id)
        service.finish(s, job, {"release_id": rel.id, "ledger_number": rel.ledger_number, "object_key": key,
                                "expires_at": expires.isoformat(), "visible_mark": notice})


def package_key():
    """The service's Ed25519 key for handover packages: REDACTOR_HOME/keys/package.key, made on first use."""
    from redactor.keys import generate_keypair, load_private_key
    from redactor.storage.secrets import keys_dir

    prefix = keys_dir() / "package"
    if not prefix.with_suffix(".key").exists():
        try:
            generate_keypair(prefix)
        except BadInput:  # made meanwhile by another worker
            pass
    return load_private_key(prefix.with_suffix(".key"))


def package_step(job_id: str, progress: service.Progress) -> None:
    """A provision's released clip as a handover package (제32조① 6, 7): signed manifest + 별지 3호 인수증, stored
    with the release's expiry."""
    from redactor.disclosure.models import Provision, Release
    from redactor.disclosure.package import Handover, Party, create_package, manifest_digest
    from redactor.disclosure.service import record_package
    from redactor.documents.notice import kst
    from redactor.registry.models import Recording

    with session_scope() as s:
        job = service.get(s, job_id, JobKind.package)
        params = job.params
        rel = s.get(Release, params.get("release_id"))
        prov = s.get(Provision, job.provision_id)
        if rel is None or prov is None or rel.provision_id != prov.id:
            raise BadInput(f"release {params.get('release_id')} is not a release of provision {job.provision_id}")
        if rel.destroyed_at is not None:
            raise FootageDestroyed(f"release {rel.id}: its copy was destroyed with its footage; no package")
        rec = s.get(Recording, rel.recording_id) if rel.recording_id else None
        approval = prov.approvals[-1] if prov.approvals else None
        # 별지 3호: both sides' 소속, 직급, 성명, as the package was asked for (checked complete then)
        recipient, official = Party(**params["recipient"]), Party(**params["handed_over_by"])
        handover = Handover(
            recipient=recipient, basis=f"32-1-{prov.ground}",
            purpose=prov.purpose, camera=rec.camera.code if rec else "", place=rec.camera.location if rec else "",
            span=f"{kst(rec.start_at)} ~ {kst(rec.end_at)}" if rec else f"{kst(prov.period_from)} ~ "
                                                                        f"{kst(prov.period_to)}",
            approver=approval.approver.display_name or approval.approver.username if approval else "",
            handed_over_by=official, entry=rel.ledger_number,
            expires=prov.use_until)
        key, expires = rel.object_key, rel.expires_at
    store = open_store()
    progress("package", force=True)
    with tempfile.TemporaryDirectory(prefix="redactor-package-") as tmp:
        clip = fetch(store, key, Path(tmp) / Path(key).name)
        out = Path(tmp) / "package.zip"
        manifest = create_package([clip], out, handover, package_key())
        digest = manifest_digest(out)
        package_key_name = f"packages/{job_id}.zip"
        store.put(package_key_name, out, expires_at=expires or utcnow() + dt.timedelta(days=30),
                  content_type="application/zip")
    with session_scope() as s:
        job = service.get(s, job_id, lock=True)
        if job.status == JobStatus.running:
            record_package(s, job_id=job_id, provision=s.get(Provision, job.provision_id),
                           release=s.get(Release, params["release_id"]), object_key=package_key_name,
                           manifest_sha256=digest, recipient=recipient, handed_over_by=official)
            service.finish(s, job, {"object_key": package_key_name, "files": sorted(manifest["files"]),
                                    "ledger_entry": manifest["ledger_entry"], "manifest_sha256": digest})
            return
    _discard(store, package_key_name)


def reap_step(job_id: str, progress: service.Progress) -> None:
    """Retention (제35조): recordings past their 30 days, then every expired object of the store."""
    from redactor.retention.service import run
    from redactor.storage.reaper import reap

    progress("recordings", force=True)
    with session_scope() as s:
        done = run(s)
    progress("objects", force=True)
    reaped = reap(open_store())
    with session_scope() as s:
        job = service.get(s, job_id, lock=True)
        service.finish(s, job, {"recordings": [r for r, _ in done.destroyed], "held": done.held,
                                "objects": [r.key for r in reaped]})


STEPS: dict[str, Callable[[str, service.Progress], None]] = {
    JobKind.analyze: analyze_step,
    JobKind.segment: segment_step,
    JobKind.render: render_step,
    JobKind.release: release_step,
    JobKind.package: package_step,
    JobKind.reap: reap_step,
}


def result_of(job: Job) -> dict:
    return json.loads(job.result_json or "{}")
